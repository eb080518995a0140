/**
 * `PUT /api/pools/:pool/strategy` and `POST /api/reload` against a real engine: success,
 * aliases, every rejection leaving the running config as it was.
 */
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { client, get, startBackends } from '../integration/harness.js';
import { lastEventSeq, NO_HEALTH, poolState, startAdminVelo } from './admin-harness.js';

test('PUT strategy switches the algorithm (aliases accepted) and the snapshot shows it', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const r = await velo.api('PUT', '/api/pools/default/strategy', { body: { strategy: 'LeastConn' } });
  t.is(r.status, 200);
  t.deepEqual(r.json, { pool: 'default', strategy: 'least-connections', previous: 'round-robin' });
  t.is(velo.engine.pools[0]!.strategyName, 'least-connections');
  t.is(velo.engine.sampler.tick().pools[0]!.strategy, 'least-connections');
  t.is((await velo.api('GET', '/api/pools/default')).json.strategy, 'least-connections');
});

test('PUT strategy rejects an unknown name, a wrong type, bad JSON and an unknown pool, changing nothing', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/api/pools/default/strategy', { strategy: 'fastest' }, 400, /unknown strategy "fastest" \(valid: round-robin/],
    ['/api/pools/default/strategy', { strategy: 3 }, 400, /strategy must be a string/],
    ['/api/pools/default/strategy', { name: 'rr' }, 400, /unknown field "name"/],
    ['/api/pools/default/strategy', '{strategy: rr}', 400, /not valid JSON/],
    ['/api/pools/default/strategy', undefined, 400, /JSON body is required/],
    ['/api/pools/nope/strategy', { strategy: 'rr' }, 404, /no pool named "nope"/],
  ];
  for (const [path, body, status, error] of cases) {
    const before = poolState(velo);
    const seq = lastEventSeq(velo);
    const r = await velo.api('PUT', path, { body });
    t.is(r.status, status, JSON.stringify(body));
    t.regex(r.json.error, error);
    t.is(poolState(velo), before);
    t.is(lastEventSeq(velo), seq);
  }
});

test('POST /api/reload re-reads the file; a broken file is a 400 with its problems and keeps the config', async (t) => {
  const backends = await startBackends(t, 2);
  const dir = await mkdtemp(join(tmpdir(), 'velo-admin-reload-'));
  const file = join(dir, 'velo.config.yaml');
  const flags = { port: 0, host: '127.0.0.1', adminPort: 0 };
  const velo = await startAdminVelo(t, `${NO_HEALTH}backends: [${backends[0]!.url}]\n`);
  velo.control.reloader = () => loadConfig({ file, env: {}, flags });
  await writeFile(file, `${NO_HEALTH}strategy: random\nbackends: [${backends[0]!.url}, ${backends[1]!.url}]\n`);
  const ok = await velo.api('POST', '/api/reload');
  t.is(ok.status, 200);
  t.deepEqual(ok.json, { reloaded: true, added: 1, removed: 0, kept: 1, pools: 1, runtime: { kept: [], overridden: [] } });
  t.is((await velo.api('GET', '/api/pools/default')).json.strategy, 'random');
  const agent = client(t);
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) names.add((await get(agent, `${velo.url}/`)).body.trim());
  t.deepEqual([...names].sort(), ['b0', 'b1']);

  await writeFile(file, `${NO_HEALTH}strategy: fastest\nbackends: [${backends[0]!.url}]\n`);
  const before = poolState(velo);
  const bad = await velo.api('POST', '/api/reload');
  t.is(bad.status, 400);
  t.regex(bad.json.error, /reload rejected; the running config is kept/);
  t.is(bad.json.file, file);
  t.like(bad.json.issues[0], { path: 'strategy', line: 2, column: 11 });
  t.regex(bad.json.issues[0].message, /unknown strategy "fastest"/);
  t.is(poolState(velo), before);
  const reloads = velo.engine.events.recent().filter((e) => e.kind === 'reload');
  t.deepEqual(reloads.map((e) => e.level), ['info', 'error']);
});

test('POST /api/reload without a config source to re-read is a 400', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const before = poolState(velo);
  const r = await velo.api('POST', '/api/reload');
  t.is(r.status, 400);
  t.regex(r.json.error, /started without a config file/);
  t.is(poolState(velo), before);
});
