/**
 * The shared limiter's promises to the request path: Redis down means the local buckets decide
 * at once; Redis slow or failing means they decide within the bound; either way it resolves,
 * never rejects, and counts the fallback. With a real redis-server, two limiters (two
 * instances) share one bucket.
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { RedisRateLimit } from '../../../src/cluster/redis/redis-rate-limit.js';
import { TAKE_TOKEN_COMMAND } from '../../../src/cluster/redis/token-bucket-script.js';
import { RateLimiter } from '../../../src/resilience/rate-limit.js';
import type { Pool } from '../../../src/upstream/pool.js';
import { redisServerInstalled, startRedisServer } from '../redis-server.js';

const installed = redisServerInstalled();

/** One pool `web` limited pool-wide at `burst` per client, no refill to speak of; the clock stands still. */
function env(burst = 2) {
  const rateLimiter = new RateLimiter({ enabled: true, rps: 0.001, burst, routes: [] }, () => 0);
  return { pools: [{ name: 'web', rateLimiter } as unknown as Pool], clock: () => 0 };
}

/** A link whose script call never answers (a Redis that hangs) or fails at once. */
function fakeLink(ready: boolean, reply: () => Promise<unknown>) {
  let calls = 0;
  const cmd = { defineCommand: () => undefined, [TAKE_TOKEN_COMMAND]: () => (calls++, reply()) };
  return { link: { ready, cmd: cmd as never }, calls: () => calls };
}

test('Redis down: the local buckets decide at once, Redis is not asked, each decision is a fallback', async (t) => {
  const { link, calls } = fakeLink(false, () => Promise.resolve([1, '0']));
  const limit = new RedisRateLimit(env(2), link, 'velo:');
  const refusals = [];
  for (let i = 0; i < 3; i++) refusals.push(await limit.take('web', 'GET', '/', '192.0.2.1'));
  t.deepEqual(refusals.map((r) => r?.policy), [undefined, undefined, 'pool']);
  t.is(refusals[2]!.headers['ratelimit-policy'], '"pool";q=2;w=2000');
  t.is(calls(), 0);
  t.is(limit.fallbacks, 3);
});

test('Redis hanging: each decision comes from the local buckets within the bound (50 ms + timer slack), never later', async (t) => {
  const { link } = fakeLink(true, () => new Promise(() => {}));
  const limit = new RedisRateLimit(env(1), link, 'velo:', 50);
  const began = performance.now();
  const results = await Promise.all([limit.take('web', 'GET', '/', '192.0.2.1'), limit.take('web', 'GET', '/', '192.0.2.1')]);
  const ms = performance.now() - began;
  t.true(ms >= 45 && ms < 1000, `took ${ms} ms`);
  t.deepEqual(results.map((r) => r?.policy), [undefined, 'pool']);
  t.is(limit.fallbacks, 2);
});

test('Redis failing (an error or a nonsense reply): the local buckets decide; nothing rejects', async (t) => {
  for (const reply of [() => Promise.reject(new Error('Connection is closed.')), () => Promise.resolve('OK')]) {
    const { link } = fakeLink(true, reply);
    const limit = new RedisRateLimit(env(1), link, 'velo:');
    t.is(await limit.take('web', 'GET', '/', '192.0.2.1'), undefined);
    t.is((await limit.take('web', 'GET', '/', '192.0.2.1'))?.policy, 'pool');
    t.is(limit.fallbacks, 2);
  }
});

test('a pool without a limit for the request, or an unknown pool: allowed, no Redis, no fallback', async (t) => {
  const { link, calls } = fakeLink(true, () => Promise.resolve([0, '0']));
  const open = { pools: [{ name: 'web', rateLimiter: new RateLimiter({ enabled: false, rps: 1, burst: 1, routes: [] }, () => 0) } as unknown as Pool], clock: () => 0 };
  const limit = new RedisRateLimit(open, link, 'velo:');
  t.is(await limit.take('web', 'GET', '/', '192.0.2.1'), undefined);
  t.is(await limit.take('nope', 'GET', '/', '192.0.2.1'), undefined);
  t.is(calls(), 0);
  t.is(limit.fallbacks, 0);
});

(installed ? test : test.skip)('two limiters on one redis-server share a client\'s bucket: burst 3 across both', async (t) => {
  const server = await startRedisServer(t);
  const limiters = [0, 1].map(() => {
    const cmd = new Redis({ path: server.socket, maxRetriesPerRequest: 1 });
    t.teardown(() => cmd.disconnect());
    return { cmd, limit: new RedisRateLimit(env(3), { get ready() { return cmd.status === 'ready'; }, cmd }, 'velo:', 1000) };
  });
  const deadline = Date.now() + 5000;
  while (limiters.some((l) => l.cmd.status !== 'ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push((await limiters[i % 2]!.limit.take('web', 'GET', '/', '192.0.2.1'))?.policy ?? 'ok');
  t.deepEqual(answers, ['ok', 'ok', 'ok', 'pool', 'pool', 'pool']);
  t.is(limiters[0]!.limit.fallbacks + limiters[1]!.limit.fallbacks, 0);
});
if (!installed) test('redis-server is not installed: the shared-bucket test is skipped (apt-get install redis-server)', (t) => t.pass());
