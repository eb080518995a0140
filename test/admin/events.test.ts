/**
 * `GET /api/events`, and one vocabulary for backends across the admin API: every object that
 * names a backend (backend views, health and metrics rows, removals, config diff entries,
 * events) carries the same `name` and `url`, with the id as `id` (or `backend` beside a pool).
 */
import test from 'ava';
import { eventually, FAST_HEALTH, startBackends } from '../integration/harness.js';
import { NO_HEALTH, startAdminVelo } from './admin-harness.js';

const enc = encodeURIComponent;

test('GET /api/events shows a health transition with the backend\'s id, name and url', async (t) => {
  const backends = await startBackends(t, 1);
  const url = backends[0]!.url;
  const velo = await startAdminVelo(t, `${FAST_HEALTH}backends: [{ url: "${url}", name: web-1 }]\n`);
  const down = async () => ((await velo.api('GET', '/api/events')).json.events as Array<{ message: string }>).find((e) => /is now unhealthy/.test(e.message));
  await eventually(async () => (await velo.api('GET', '/api/events')).json.events.some((e: { kind: string }) => e.kind === 'health'), 3000, 'first probe');
  backends[0]!.setHealthy(false);
  await eventually(async () => (await down()) !== undefined, 3000, 'the backend goes unhealthy');
  const r = await velo.api('GET', '/api/events');
  t.is(r.status, 200);
  const { seq, at, message, ...rest } = (await down()) as unknown as Record<string, unknown>;
  t.true(typeof seq === 'number' && seq > 0);
  t.regex(String(at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.regex(String(message), /^web-1 is now unhealthy/);
  t.deepEqual(rest, { kind: 'health', level: 'warn', detail: null, pool: 'default', backend: url, name: 'web-1', url });
  const seqs = (r.json.events as Array<{ seq: number }>).map((e) => e.seq);
  t.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest first');
});

test('every object of the admin API that names a backend has the same id, name and url', async (t) => {
  const backends = await startBackends(t, 2);
  const [a, b] = backends.map((x) => x.url) as [string, string];
  const velo = await startAdminVelo(t, `${NO_HEALTH}backends: [{ url: "${a}", name: web-1 }]\n`);
  const expected = [
    { id: a, name: 'web-1', url: a },
    { id: b, name: 'web-2', url: b },
  ];
  const added = await velo.api('POST', '/api/pools/default/backends', { body: { url: b, name: 'web-2' } });
  t.is(added.status, 201);
  await velo.api('POST', `/api/pools/default/backends/${enc(a)}/drain`);
  const pick = (o: { id?: string; backend?: string; name: string; url: string }) => ({ id: o.id ?? o.backend, name: o.name, url: o.url });
  const health = await velo.api('GET', '/api/health');
  const pools = await velo.api('GET', '/api/pools');
  const pool = await velo.api('GET', '/api/pools/default');
  const metrics = await velo.api('GET', '/api/metrics');
  const one = await velo.api('GET', `/api/pools/default/backends/${enc(b)}`);
  const diff = await velo.api('GET', '/api/config/diff');
  const events = await velo.api('GET', '/api/events');
  t.deepEqual(health.json.pools[0].backends.map(pick), expected, '/api/health');
  t.deepEqual(pools.json.pools[0].backends.map(pick), expected, '/api/pools');
  t.deepEqual(pool.json.backends.map(pick), expected, '/api/pools/default');
  t.deepEqual(metrics.json.backends.map(pick), expected, '/api/metrics');
  t.deepEqual(pick(added.json.backend), expected[1], 'POST .../backends');
  t.deepEqual(pick(one.json.backend), expected[1], 'GET .../backends/:id');
  t.deepEqual(diff.json.changes.map(pick), [expected[1], expected[0]], '/api/config/diff: the add, then the drain');
  t.deepEqual(
    events.json.events.filter((e: { kind: string }) => e.kind === 'admin').map(pick),
    [expected[1], expected[0]],
    '/api/events: the add, then the drain',
  );
  const removed = await velo.api('DELETE', `/api/pools/default/backends/${enc(b)}`);
  t.deepEqual(pick(removed.json.removed), expected[1], 'DELETE .../backends/:id');
});
