/**
 * The admin API's read endpoints against a real engine: health, pools, one pool, JSON metrics,
 * and the routing errors (404 route or pool, 405 with Allow, bad percent-encoding).
 */
import test from 'ava';
import { client, eventually, get, startBackends } from '../integration/harness.js';
import { NO_HEALTH, startAdminVelo } from './admin-harness.js';

test('GET /api/health lists every pool and backend with state and says ok', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const r = await velo.api('GET', '/api/health');
  t.is(r.status, 200);
  t.regex(String(r.headers['content-type']), /^application\/json/);
  t.is(r.json.status, 'ok');
  t.is(r.json.pools.length, 1);
  t.like(r.json.pools[0], { name: 'default', strategy: 'round-robin', healthy: 2, total: 2 });
  t.deepEqual(
    r.json.pools[0].backends.map((b: { id: string; state: string }) => [b.id, b.state]),
    backends.map((b) => [b.url, 'healthy']),
  );
});

test('GET /api/health says down when a pool has no healthy backend, degraded when some are out', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, 'health_check: { interval: 100ms, timeout: 200ms, rise: 1, fall: 1 }\n', backends.map((b) => b.url));
  await eventually(async () => (await velo.api('GET', '/api/health')).json.status === 'ok', 5000, 'both healthy');
  backends[0]!.setHealthy(false);
  await eventually(async () => (await velo.api('GET', '/api/health')).json.status === 'degraded', 5000, 'degraded');
  backends[1]!.setHealthy(false);
  await eventually(async () => (await velo.api('GET', '/api/health')).json.status === 'down', 5000, 'down');
  const r = await velo.api('GET', '/api/health');
  t.is(r.status, 200, 'the admin API itself is fine');
  t.is(r.json.pools[0].healthy, 0);
  t.like(r.json.pools[0].backends[0].lastCheck, { ok: false });
  t.regex(r.json.pools[0].backends[0].lastCheck.at, /^\d{4}-\d\d-\d\dT/);
});

test('GET /api/pools and /api/pools/:pool show strategy, weights and counters', async (t) => {
  const backends = await startBackends(t, 2);
  const off = '    health_check: { enabled: false }\n';
  const yaml = `pools:\n  - name: web\n    strategy: least-connections\n${off}    backends: [${backends[0]!.url}]\n  - name: api\n    match: { path_prefix: /api }\n${off}    backends: [{ url: ${backends[1]!.url}, weight: 3 }]\n`;
  const velo = await startAdminVelo(t, yaml);
  const all = await velo.api('GET', '/api/pools');
  t.is(all.status, 200);
  t.deepEqual(all.json.pools.map((p: { name: string; strategy: string }) => [p.name, p.strategy]), [
    ['web', 'least-connections'],
    ['api', 'round-robin'],
  ]);
  const agent = client(t);
  await get(agent, `${velo.url}/api/x`);
  await eventually(async () => (await velo.api('GET', '/api/pools/api')).json.backends[0].requests === 1, 2000, 'the request counted');
  const one = await velo.api('GET', '/api/pools/api');
  t.is(one.status, 200);
  t.like(one.json, { name: 'api', match: { pathPrefix: '/api' }, healthy: 1, total: 1 });
  t.like(one.json.backends[0], { id: backends[1]!.url, weight: 3, requests: 1, failures: 0, state: 'healthy', draining: false, lastCheck: null });
});

test('GET /api/metrics: uptime, totals with total = success + failed + rejected, retries, per-backend rows', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const agent = client(t);
  for (let i = 0; i < 4; i++) await get(agent, `${velo.url}/`);
  await backends[1]!.close();
  for (let i = 0; i < 2; i++) await get(agent, `${velo.url}/status/500`);
  await eventually(async () => (await velo.api('GET', '/api/metrics')).json.totals.total === 6, 2000, 'six requests counted');
  const r = await velo.api('GET', '/api/metrics');
  t.is(r.status, 200);
  t.true(typeof r.json.uptimeMs === 'number' && r.json.uptimeMs >= 0);
  const totals = r.json.totals;
  t.is(totals.total, totals.success + totals.failed + totals.rejected);
  t.is(totals.total, 6);
  t.is(r.json.retries, totals.retries);
  t.true(totals.retries >= 1, 'a connect failure on the closed backend was retried');
  t.deepEqual(r.json.backends.map((b: { id: string }) => b.id), backends.map((b) => b.url));
  for (const b of r.json.backends) {
    t.true(['pool', 'id', 'state', 'inFlight', 'requests', 'failures', 'lastCheck'].every((k) => k in b));
  }
  t.true(r.json.backends[1].failures >= 1);
});

test('unknown routes are 404, wrong methods 405 with Allow, HEAD works where GET does', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const missing = await velo.api('GET', '/api/nope');
  t.is(missing.status, 404);
  t.regex(missing.json.error, /no admin route GET \/api\/nope/);
  t.is((await velo.api('GET', '/')).status, 404);
  const pool = await velo.api('GET', '/api/pools/nope');
  t.is(pool.status, 404);
  t.regex(pool.json.error, /no pool named "nope"/);
  for (const [method, path, allow] of [
    ['POST', '/api/health', 'GET, HEAD'],
    ['DELETE', '/api/pools', 'GET, HEAD'],
    ['GET', '/api/reload', 'POST'],
    ['PUT', '/api/pools/default/backends', 'POST'],
    ['GET', '/api/pools/default/strategy', 'PUT'],
    ['PATCH', '/metrics', 'GET, HEAD'],
  ] as const) {
    const r = await velo.api(method, path);
    t.is(r.status, 405, `${method} ${path}`);
    t.is(r.headers.allow, allow, `${method} ${path}`);
    t.true(typeof r.json.error === 'string');
  }
  const head = await velo.api('HEAD', '/api/health');
  t.is(head.status, 200);
  t.is(head.text, '');
  const trailing = await velo.api('GET', '/api/pools/?x=1');
  t.is(trailing.status, 200, 'a trailing slash and a query string are tolerated');
});

test('a path with broken percent-encoding is a 400, and the server keeps serving', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const r = await velo.api('POST', '/api/pools/default/backends/%E0%A4%A/drain');
  t.is(r.status, 400);
  t.regex(r.json.error, /percent-encoding/);
  t.is((await velo.api('GET', '/api/health')).status, 200);
});

test("GET /api/metrics: velo's own 404 and 429 are rejected, not success; latency, backend counts and last checks", async (t) => {
  const backends = await startBackends(t, 2);
  const yaml = `pools:\n  - name: web\n    match: { host: a.test }\n    health_check: { interval: 100ms, timeout: 2s }\n    rate_limit: { rps: 0.001, burst: 3 }\n    backends:\n${backends.map((b, i) => `      - { url: ${b.url}, name: n${i} }`).join('\n')}\n`;
  const velo = await startAdminVelo(t, yaml);
  const agent = client(t);
  await eventually(async () => (await velo.api('GET', '/api/metrics')).json.backends.every((b: { lastCheckOk: boolean | null }) => b.lastCheckOk === true), 10_000, 'first probes');
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await get(agent, `${velo.url}/`, { headers: { host: 'a.test' } })).status);
  statuses.push((await get(agent, `${velo.url}/`, { headers: { host: 'nowhere.test' } })).status);
  t.deepEqual([...statuses].sort(), [200, 200, 200, 404, 429, 429]);
  await eventually(async () => (await velo.api('GET', '/api/metrics')).json.totals.total === 6, 5000, 'six requests counted');
  const m = (await velo.api('GET', '/api/metrics')).json;
  t.like(m.totals, { total: 6, success: 3, failed: 0, rejected: 3 });
  t.is(m.totals.total, m.totals.success + m.totals.failed + m.totals.rejected);
  t.true(m.uptimeMs >= 0 && typeof m.uptimeSeconds === 'number');
  t.true(m.latencyMs.samples >= 3, JSON.stringify(m.latencyMs));
  t.true(m.latencyMs.p50 > 0 && m.latencyMs.p50 <= m.latencyMs.p99 && m.latencyMs.avg > 0);
  t.like(m, { backendsHealthy: 2, backendsTotal: 2 });
  t.deepEqual(m.backends.map((b: { name: string; url: string }) => [b.name, b.url]), backends.map((b, i) => [`n${i}`, b.url]));
  for (const b of m.backends) {
    t.true(Date.parse(b.lastCheckAt) > 0);
    t.is(b.lastCheckOk, true);
  }
});
