/**
 * Backend changes through the admin API against a real engine: add (201), remove, drain,
 * undrain, every rejection (400, 404, 409) leaving the pool untouched, and one source of
 * truth with `Control` and the engine snapshot.
 */
import test from 'ava';
import { client, eventually, get, startBackends } from '../integration/harness.js';
import { lastEventSeq, NO_HEALTH, poolState, startAdminVelo, type AdminVelo } from './admin-harness.js';

const enc = encodeURIComponent;

async function rejected(t: import('ava').ExecutionContext, velo: AdminVelo, method: string, path: string, body: unknown, status: number, error: RegExp): Promise<void> {
  const before = poolState(velo);
  const seq = lastEventSeq(velo);
  const r = await velo.api(method, path, { body });
  t.is(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
  t.regex(String(r.json?.error), error);
  t.regex(String(r.headers['content-type']), /^application\/json/);
  t.is(poolState(velo), before, 'a rejected call changes nothing');
  t.is(lastEventSeq(velo), seq, 'and records no change');
}

test('POST /api/pools/:pool/backends adds a backend (201, Location) that takes traffic and shows in the snapshot', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, [backends[0]!.url]);
  const r = await velo.api('POST', '/api/pools/default/backends', { body: { url: backends[1]!.url, weight: 2 } });
  t.is(r.status, 201);
  t.is(r.headers.location, `/api/pools/default/backends/${enc(backends[1]!.url)}`);
  t.like(r.json, { pool: 'default', backend: { id: backends[1]!.url, weight: 2 } });
  const snap = velo.engine.sampler.tick();
  t.deepEqual(snap.pools[0]!.backends.map((b) => [b.id, b.weight]), [
    [backends[0]!.url, 1],
    [backends[1]!.url, 2],
  ]);
  t.true(snap.events.some((e) => e.kind === 'admin' && /added/.test(e.message) && /\[api\]/.test(e.message)));
  const agent = client(t);
  const names = new Set<string>();
  for (let i = 0; i < 6; i++) names.add((await get(agent, `${velo.url}/`)).body.trim());
  t.deepEqual([...names].sort(), ['b0', 'b1']);
  const listed = await velo.api('GET', `/api/pools/default/backends/${enc(backends[1]!.url)}`);
  t.is(listed.status, 200);
  t.is(listed.json.backend.id, backends[1]!.url);
});

test('adding rejects a duplicate (409), a bad URL or body (400) and an unknown pool (404), changing nothing', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, [backends[0]!.url]);
  const path = '/api/pools/default/backends';
  const url = backends[0]!.url;
  await rejected(t, velo, 'POST', path, { url }, 409, /already in pool "default"/);
  await rejected(t, velo, 'POST', path, { url: url.replace('http', 'HTTP') + '/' }, 409, /already/);
  await rejected(t, velo, 'POST', path, { url: 'not a url' }, 400, /./);
  await rejected(t, velo, 'POST', path, { url: 'ftp://127.0.0.1:21' }, 400, /./);
  await rejected(t, velo, 'POST', path, '{"url": "http://127.0.0.1:1"', 400, /not valid JSON/);
  await rejected(t, velo, 'POST', path, '', 400, /JSON body is required/);
  await rejected(t, velo, 'POST', path, [url], 400, /must be a JSON object/);
  await rejected(t, velo, 'POST', path, 'null', 400, /must be a JSON object/);
  await rejected(t, velo, 'POST', path, { url: 8081 }, 400, /url must be a string/);
  await rejected(t, velo, 'POST', path, { url: 'http://127.0.0.1:1', weight: '2' }, 400, /weight must be a number/);
  await rejected(t, velo, 'POST', path, { url: 'http://127.0.0.1:1', weight: 0 }, 400, /weight must be an integer from 1 to 1000/);
  await rejected(t, velo, 'POST', path, { url: 'http://127.0.0.1:1', weight: 1.5 }, 400, /weight/);
  await rejected(t, velo, 'POST', path, { url: 'http://127.0.0.1:1', name: 'has space' }, 400, /name must be/);
  await rejected(t, velo, 'POST', path, { url: 'http://127.0.0.1:1', wieght: 2 }, 400, /unknown field "wieght"/);
  await rejected(t, velo, 'POST', '/api/pools/nope/backends', { url: 'http://127.0.0.1:1' }, 404, /no pool named "nope"/);
});

test('DELETE removes a backend named by encoded id, name or host:port; unknown ones are 404', async (t) => {
  const backends = await startBackends(t, 3);
  const yaml = `${NO_HEALTH}backends:\n  - ${backends[0]!.url}\n  - { url: ${backends[1]!.url}, name: second }\n  - ${backends[2]!.url}\n`;
  const velo = await startAdminVelo(t, yaml);
  const byId = await velo.api('DELETE', `/api/pools/default/backends/${enc(backends[0]!.url)}`);
  t.is(byId.status, 200);
  t.like(byId.json, { pool: 'default', removed: { id: backends[0]!.url } });
  t.is((await velo.api('DELETE', '/api/pools/default/backends/second')).status, 200);
  const hostPort = new URL(backends[2]!.url).host;
  await rejected(t, velo, 'DELETE', `/api/pools/default/backends/${enc('http://127.0.0.1:1')}`, undefined, 404, /no backend/);
  await rejected(t, velo, 'DELETE', `/api/pools/nope/backends/${hostPort}`, undefined, 404, /no pool named "nope"/);
  t.is((await velo.api('DELETE', `/api/pools/default/backends/${hostPort}`)).status, 200);
  t.deepEqual(velo.engine.sampler.tick().pools[0]!.backends, []);
  await rejected(t, velo, 'DELETE', `/api/pools/default/backends/${hostPort}`, undefined, 404, /no backend/);
  const agent = client(t);
  t.is((await get(agent, `${velo.url}/`)).status, 503, 'an empty pool answers 503');
});

test('drain stops new requests to a backend and undrain brings it back; both are idempotent', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const id = enc(backends[0]!.url);
  const drained = await velo.api('POST', `/api/pools/default/backends/${id}/drain`);
  t.is(drained.status, 200);
  t.like(drained.json.backend, { id: backends[0]!.url, state: 'draining', draining: true });
  t.is(velo.engine.sampler.tick().pools[0]!.backends[0]!.state, 'draining');
  t.is((await velo.api('POST', `/api/pools/default/backends/${id}/drain`)).status, 200);
  const agent = client(t);
  for (let i = 0; i < 4; i++) t.is((await get(agent, `${velo.url}/`)).body.trim(), 'b1');
  const undrained = await velo.api('POST', `/api/pools/default/backends/${id}/undrain`);
  t.is(undrained.status, 200);
  t.like(undrained.json.backend, { state: 'healthy', draining: false });
  t.is((await velo.api('POST', `/api/pools/default/backends/${id}/undrain`)).status, 200);
  const names = new Set<string>();
  for (let i = 0; i < 4; i++) names.add((await get(agent, `${velo.url}/`)).body.trim());
  t.deepEqual([...names].sort(), ['b0', 'b1']);
  await rejected(t, velo, 'POST', `/api/pools/default/backends/${enc('http://127.0.0.1:1')}/drain`, undefined, 404, /no backend/);
  await rejected(t, velo, 'POST', '/api/pools/default/backends/nobody/undrain', undefined, 404, /no backend "nobody"/);
  await rejected(t, velo, 'POST', `/api/pools/nope/backends/${id}/drain`, undefined, 404, /no pool/);
});

test('changes made through Control (the dashboard) show in the API at once', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, [backends[0]!.url]);
  t.is((await velo.api('GET', '/api/pools/default')).json.total, 1);
  velo.control.addBackend('default', { url: backends[1]!.url, weight: 4 }, 'dashboard');
  velo.control.drain('default', backends[0]!.url, 'dashboard');
  velo.control.setStrategy('default', 'p2c', 'dashboard');
  const r = await velo.api('GET', '/api/pools/default');
  t.is(r.json.strategy, 'power-of-two');
  t.deepEqual(r.json.backends.map((b: { id: string; weight: number; state: string }) => [b.id, b.weight, b.state]), [
    [backends[0]!.url, 1, 'draining'],
    [backends[1]!.url, 4, 'healthy'],
  ]);
  await eventually(() => velo.engine.snapshot.pools[0]!.backends.length === 2, 2000, 'the sampler sees it too');
});
