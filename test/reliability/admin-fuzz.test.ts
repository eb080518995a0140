/**
 * The admin API of a velo process fuzzed with fast-check: random methods, paths, bodies,
 * tokens and origins. Never a 5xx, and a refused call (4xx) never changes state (the pools,
 * their strategy and their backends as GET /api/pools shows them).
 */
import test from 'ava';
import fc from 'fast-check';
import { request } from 'undici';
import { startBackends } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { agent, startVeloProcess } from './velo-process.js';

const TOKEN = 'fuzz-secret-token';
const RUNS = Number(process.env.VELO_FUZZ_RUNS ?? 400);
const figures: Array<[string, Figure]> = [];
test.after.always(() => recordFigures('admin-fuzz', 'Admin API fuzz (fast-check)', figures));

interface PoolsView {
  pools: Array<{ name: string; strategy: string; match: unknown; backends: Array<{ id: string; name: string; url: string; weight: number; draining: boolean }> }>;
}

/** The part of GET /api/pools an admin call may change; counters and rates are left out. */
function state(view: PoolsView): unknown {
  return view.pools.map((p) => ({
    name: p.name,
    strategy: p.strategy,
    match: p.match,
    backends: p.backends.map((b) => ({ id: b.id, name: b.name, url: b.url, weight: b.weight, draining: b.draining })),
  }));
}

test('random admin calls: never a 5xx, and a refused call changes nothing', async (t) => {
  const backends = await startBackends(t, 3);
  const urls = backends.map((b) => b.url);
  const yaml =
    `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0, token: ${TOKEN} }\npools:\n` +
    `  - name: web\n    health_check: { enabled: false }\n    backends: [${urls[0]}, ${urls[1]}]\n` +
    `  - name: api\n    match: { path_prefix: /api }\n    health_check: { enabled: false }\n    backends: [${urls[2]}]\n`;
  const velo = await startVeloProcess(t, yaml);
  const dispatcher = agent(t, 4);
  const readState = async (): Promise<unknown> => state(await velo.adminJson<PoolsView>('/api/pools', TOKEN));

  const ids = urls.flatMap((u) => [encodeURIComponent(u), encodeURIComponent(`${u}/`), u.replace('http://', '')]);
  const segment = fc.oneof(
    fc.constantFrom('api', 'pools', 'web', 'api', 'backends', 'drain', 'undrain', 'strategy', 'reload', 'metrics', 'health', 'logs', 'events', 'weight', '..', '.', '%', '%2F', '%00', '%ZZ', ''),
    fc.constantFrom(...ids),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 6 }).map((s) => encodeURIComponent(s)),
  );
  const path = fc.oneof(
    fc.array(segment, { minLength: 0, maxLength: 6 }).map((s) => `/${s.join('/')}`),
    fc.tuple(fc.constantFrom('web', 'api', 'nope'), fc.constantFrom(...ids, 'nope')).map(([p, id]) => `/api/pools/${p}/backends/${id}`),
    fc.tuple(fc.constantFrom('web', 'api', 'nope'), fc.constantFrom(...ids), fc.constantFrom('drain', 'undrain')).map(([p, id, op]) => `/api/pools/${p}/backends/${id}/${op}`),
    fc.constantFrom('/api/pools/web/backends', '/api/pools/api/backends', '/api/pools/web/strategy', '/api/reload', '/api/pools', '/metrics'),
  ).chain((p) => fc.constantFrom(p, `${p}/`, `${p}?x=1`, `${p}//`));
  const body = fc.oneof(
    fc.constant(undefined),
    fc.json().map((j) => j),
    fc.string({ maxLength: 64 }),
    fc.record({ url: fc.oneof(fc.constantFrom(...urls, 'http://127.0.0.1:1', 'ftp://x', 'http://[::1', ''), fc.string()), weight: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double(), fc.string()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.record({ strategy: fc.oneof(fc.constantFrom('rr', 'least-connections', 'ip-hash', 'fastest', ''), fc.string(), fc.integer()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.constant('{"url": "' + 'a'.repeat(70_000) + '"}'),
  );
  const authorization = fc.oneof(
    fc.constant(undefined),
    // Mostly the right token, so calls get past auth and reach the routes' own checks.
    { arbitrary: fc.constant(`Bearer ${TOKEN}`), weight: 6 },
    fc.constant(`bearer   ${TOKEN}  `),
    fc.constant(`Bearer ${TOKEN}x`),
    fc.constant(`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`),
    fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  );
  // Mostly no Origin and a JSON content type, so enough calls pass the cross-origin and 415
  // checks to reach the routes (a run where every call is refused proves little).
  const origin = fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1'), fc.webUrl());
  const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'), fc.stringMatching(/^[A-Z]{1,10}$/));
  const contentType = fc.oneof(
    { arbitrary: fc.constantFrom(undefined, 'application/json'), weight: 8 },
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'),
  );

  const counts = { calls: 0, refused: 0, accepted: 0 };
  const byStatus = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fc.record({ method, path, body, authorization, origin, contentType }), async (call) => {
      const before = await readState();
      const headers: Record<string, string> = {};
      if (call.authorization !== undefined) headers.authorization = call.authorization;
      if (call.origin !== undefined) headers.origin = call.origin;
      if (call.contentType !== undefined) headers['content-type'] = call.contentType;
      const sendsBody = call.body !== undefined && call.method !== 'GET' && call.method !== 'HEAD';
      const res = await request(`${velo.adminUrl}${call.path}`, {
        method: call.method,
        headers,
        body: sendsBody ? call.body : undefined,
        dispatcher,
      });
      await res.body.dump();
      counts.calls++;
      byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) return false;
      if (res.statusCode >= 400) {
        counts.refused++;
        t.deepEqual(await readState(), before, `${call.method} ${call.path} was refused with ${res.statusCode} but changed state`);
      } else counts.accepted++;
      return true;
    }),
    { numRuns: RUNS, seed: process.env.VELO_FUZZ_SEED !== undefined ? Number(process.env.VELO_FUZZ_SEED) : undefined, interruptAfterTimeLimit: 90_000 },
  );
  t.true(counts.accepted > 0 && counts.refused > 0, `both accepted and refused calls were made: ${JSON.stringify(counts)}`);
  figures.push(
    ['admin calls (random method, path, body, token, origin)', counts.calls],
    ['answers by status', [...byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')],
  );
  t.is((await velo.stop()).code, 0);
});
