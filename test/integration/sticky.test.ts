/**
 * Sticky cookies that cannot be forged, on real sockets: a valid cookie pins; a tampered one,
 * one made without the secret, and an expired one each count as no cookie (the request is
 * balanced as usual and a fresh cookie is issued). The wall clock is injected, never slept on.
 */
import test, { type ExecutionContext } from 'ava';
import { fnv1a32 } from '../../src/balancing/rendezvous-hash.js';
import { signStickyValue } from '../../src/balancing/sticky.js';
import type { TestBackend } from '../../src/backend/test-backend.js';
import { Logger } from '../../src/log/logger.js';
import { client, get, startBackends, startVelo, type Velo } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';
const STICKY = `${NO_HEALTH}sticky: { cookie: route, ttl: 10m }\n`;

interface Setup {
  velo: Velo;
  backends: TestBackend[];
  /** The injected wall clock, in ms; tests move it. */
  clock: { nowMs: number };
}

async function setup(t: ExecutionContext, yaml = STICKY, logger?: Logger): Promise<Setup> {
  const backends = await startBackends(t, 3);
  const clock = { nowMs: Date.UTC(2030, 0, 1) };
  const velo = await startVelo(t, yaml, backends.map((b) => b.url), { wallClock: () => clock.nowMs, ...(logger ? { logger } : {}) });
  return { velo, backends, clock };
}

/** The `route=...` pair of a Set-Cookie header, or undefined when none was sent. */
function cookieOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['set-cookie'];
  return raw === undefined ? undefined : String(raw).split(';', 1)[0];
}

/** The id of the backend that answers with body `name` (`b0`, `b1`, ...). */
function idOf(s: Setup, name: string): string {
  const port = s.backends[Number(name.slice(1))]!.port;
  return s.velo.engine.pools[0]!.upstreams.find((u) => u.name === `127.0.0.1:${port}`)!.id;
}

/**
 * Sends six requests carrying `cookie`: with three backends and round-robin, a request that is
 * balanced as usual reaches every backend, and each response brings a new cookie.
 */
async function assertBalancedWithNewCookie(t: ExecutionContext, s: Setup, cookie: string, what: string): Promise<void> {
  const agent = client(t);
  const names = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await get(agent, s.velo.url, { headers: { cookie } });
    names.add(r.body.trim());
    t.regex(cookieOf(r.headers) ?? '', /^route=./, `${what}: a fresh cookie on request ${i}`);
    t.not(cookieOf(r.headers), cookie, `${what}: not the same value back`);
  }
  t.is(names.size, 3, `${what}: balanced as usual, saw ${[...names].join(', ')}`);
}

test('a valid cookie pins to its backend with no new cookie, until its signed expiry passes', async (t) => {
  const s = await setup(t);
  const agent = client(t);
  const first = await get(agent, s.velo.url);
  const cookie = cookieOf(first.headers)!;
  t.regex(String(first.headers['set-cookie']), /^route=[A-Za-z0-9_-]{16}\.\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
  for (let i = 0; i < 6; i++) {
    const r = await get(agent, s.velo.url, { headers: { cookie: `other=1; ${cookie}` } });
    t.is(r.body, first.body, 'pinned');
    t.is(r.headers['set-cookie'], undefined, 'no new cookie while the pin is fresh');
  }
  s.clock.nowMs += 10 * 60_000;
  await assertBalancedWithNewCookie(t, s, cookie, 'expired');
});

test('a tampered cookie (another backend named in a valid cookie) is no cookie', async (t) => {
  const s = await setup(t);
  const agent = client(t);
  const a = cookieOf((await get(agent, s.velo.url)).headers)!.slice('route='.length);
  const b = cookieOf((await get(agent, s.velo.url)).headers)!.slice('route='.length);
  // The part naming the backend is what a client would change to pick its own.
  const tampered = b.split('.')[0]! + a.slice(a.split('.')[0]!.length);
  t.not(tampered, a);
  await assertBalancedWithNewCookie(t, s, `route=${tampered}`, 'tampered');
});

test('a cookie for another backend made without the secret is no cookie: the old unkeyed hash, or signed with a guess', async (t) => {
  const s = await setup(t);
  const agent = client(t);
  const chosen = (await get(agent, s.velo.url)).body.trim() === 'b1' ? 'b2' : 'b1';
  const id = idOf(s, chosen);
  const unkeyed = fnv1a32(id).toString(16).padStart(8, '0');
  await assertBalancedWithNewCookie(t, s, `route=${unkeyed}`, 'unkeyed hash of the backend id');
  const guessed = signStickyValue({ secret: 'velo'.repeat(8), pool: 'default' }, id, Math.floor(s.clock.nowMs / 1000) + 600);
  await assertBalancedWithNewCookie(t, s, `route=${guessed}`, 'signed with a guessed secret');
});

test('with sticky.secret, cookies survive a restart; without it, a warning says restarts rebalance', async (t) => {
  const secret = 'f'.repeat(64);
  const withSecret = `${NO_HEALTH}sticky: { cookie: route, ttl: 10m, secret: ${secret} }\n`;
  const s1 = await setup(t, withSecret);
  const agent = client(t);
  const first = await get(agent, s1.velo.url);
  const cookie = cookieOf(first.headers)!;
  // A second velo with the same secret and the same backends stands for a restart.
  const urls = s1.backends.map((b) => b.url);
  const lines: string[] = [];
  const restarted = await startVelo(t, withSecret, urls, {
    wallClock: () => s1.clock.nowMs,
    logger: new Logger('warn', (line) => lines.push(line)),
  });
  for (let i = 0; i < 3; i++) {
    const r = await get(agent, restarted.url, { headers: { cookie } });
    t.is(r.body, first.body, 'the same secret still pins');
    t.is(r.headers['set-cookie'], undefined);
  }
  t.deepEqual(lines.filter((l) => l.includes('sticky.secret')), [], 'no warning with a secret');
  const warned: string[] = [];
  await setup(t, STICKY, new Logger('warn', (line) => warned.push(line)));
  t.is(warned.filter((l) => /sticky\.secret is not set.*restart rebalances/.test(l)).length, 1, warned.join('\n'));
});
