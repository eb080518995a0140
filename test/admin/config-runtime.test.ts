/**
 * The admin API's runtime operations and the config file: `PUT .../weight`, `POST
 * .../disable|enable`, `GET /api/config/diff`, `POST /api/config/save` (comments kept, the
 * result validates, the file watcher does not reload velo's own save), with their JSON errors.
 */
import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../../src/cli/start.js';
import { loadConfig } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { eventually, startBackends } from '../integration/harness.js';
import { lastEventSeq, NO_HEALTH, poolState, startAdminVelo } from './admin-harness.js';

test('PUT weight sets it and answers the previous one; bad bodies are 400, unknown backends 404, nothing changed', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const path = `/api/pools/default/backends/${encodeURIComponent(backends[0]!.url)}/weight`;
  const r = await velo.api('PUT', path, { body: { weight: 7 } });
  t.is(r.status, 200, r.text);
  t.like(r.json, { pool: 'default', previous: 1, backend: { weight: 7 } });
  t.is(velo.engine.pools[0]!.upstreams[0]!.weight, 7);
  const cases: Array<[string, unknown, number, RegExp]> = [
    [path, { weight: 0 }, 400, /weight must be an integer from 1 to 1000, got 0/],
    [path, { weight: '5' }, 400, /weight must be a number/],
    [path, { weight: 5, extra: 1 }, 400, /unknown field "extra"/],
    [path, undefined, 400, /JSON body is required/],
    ['/api/pools/default/backends/http%3A%2F%2F127.0.0.1%3A1/weight', { weight: 5 }, 404, /no backend/],
    ['/api/pools/nope/backends/x/weight', { weight: 5 }, 404, /no pool named "nope"/],
  ];
  for (const [p, body, status, error] of cases) {
    const before = poolState(velo);
    const seq = lastEventSeq(velo);
    const bad = await velo.api('PUT', p, { body });
    t.is(bad.status, status, JSON.stringify(body));
    t.regex(bad.json.error, error);
    t.is(poolState(velo), before);
    t.is(lastEventSeq(velo), seq);
  }
  t.is((await velo.api('POST', path, { body: { weight: 2 } })).status, 405);
});

test('disable puts a backend in maintenance (state maint, planned: not healthy, not a failure), enable takes it out', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const path = (action: string) => `/api/pools/default/backends/${encodeURIComponent(new URL(backends[0]!.url).host)}/${action}`;
  const off = await velo.api('POST', path('disable'));
  t.is(off.status, 200, off.text);
  t.like(off.json.backend, { state: 'maint', maintenance: true });
  const health = (await velo.api('GET', '/api/health')).json;
  t.like(health, { status: 'ok', runtimeChanges: 1, pools: [{ healthy: 1, planned: 1, total: 2 }] });
  t.is(health.pools[0].backends[0].state, 'maint');
  const on = await velo.api('POST', path('enable'));
  t.like(on.json.backend, { state: 'healthy', maintenance: false });
  t.is((await velo.api('GET', '/api/pools')).json.runtimeChanges, 0, 'back to what the file says');
  t.is((await velo.api('POST', '/api/pools/default/backends/nope/disable')).status, 404);
});

const COMMENTED = (a: string, b: string) => `# velo for the tests: keep this comment
health_check: { enabled: false }   # no probes

# the balancing
strategy: round-robin

backends:
  - ${a}        # the first one
  # a comment between entries
  - { url: ${b}, weight: 1 }
admin: { port: 0 }
`;

test('config diff lists runtime changes; save writes them keeping every comment, validates, and empties the diff', async (t) => {
  const backends = await startBackends(t, 3);
  const [a, b, c] = backends.map((x) => x.url) as [string, string, string];
  const dir = await mkdtemp(join(tmpdir(), 'velo-save-'));
  const file = join(dir, 'velo.config.yaml');
  const text = COMMENTED(a, b);
  await writeFile(file, text);
  const velo = await startAdminVelo(t, text);
  velo.engine.overlay.file = await loadConfig({ file, env: {} });
  velo.control.reloader = () => loadConfig({ file, env: {} });

  t.deepEqual((await velo.api('GET', '/api/config/diff')).json, { file, count: 0, changes: [] });
  const nothing = await velo.api('POST', '/api/config/save');
  t.deepEqual(nothing.json, { file, saved: 0, changes: [] });
  t.is(await readFile(file, 'utf8'), text, 'nothing written');

  await velo.api('PUT', `/api/pools/default/backends/${encodeURIComponent(b)}/weight`, { body: { weight: 4 } });
  await velo.api('PUT', '/api/pools/default/strategy', { body: { strategy: 'wrr' } });
  await velo.api('POST', '/api/pools/default/backends', { body: { url: c, weight: 2 } });
  await velo.api('POST', `/api/pools/default/backends/${encodeURIComponent(a)}/disable`);
  const diff = (await velo.api('GET', '/api/config/diff')).json;
  const host = (u: string) => new URL(u).host;
  t.is(diff.count, 4);
  t.deepEqual(diff.changes.map((x: { change: string }) => x.change), [
    `weight 4 on ${host(b)} in pool default`,
    'strategy weighted-round-robin on pool default',
    `add of ${host(c)} to pool default`,
    `maintenance on ${host(a)} in pool default`,
  ]);
  t.like(diff.changes[0], { pool: 'default', backend: b, field: 'weight', runtime: 4, file: 1 });

  const saved = await velo.api('POST', '/api/config/save');
  t.is(saved.status, 200, saved.text);
  t.like(saved.json, { file, saved: 4 });
  const after = await readFile(file, 'utf8');
  t.is(
    after,
    `# velo for the tests: keep this comment
health_check: { enabled: false }   # no probes

# the balancing
strategy: weighted-round-robin

backends:
  - { url: ${a}, maintenance: true }        # the first one
  # a comment between entries
  - { url: ${b}, weight: 4 }
  - { url: ${c}, weight: 2 }
admin: { port: 0 }
`,
  );
  const config = await loadConfig({ file, env: {} });
  t.deepEqual(config.pools[0]!.backends.map((x) => [x.url, x.weight, x.maintenance ?? false]), [[a, 1, true], [b, 4, false], [c, 2, false]]);
  t.is((await velo.api('GET', '/api/config/diff')).json.count, 0);
  t.is((await velo.api('GET', '/api/pools')).json.runtimeChanges, 0);
});

test('save is 400 without a config file and 409 when the file changed under it, writing nothing', async (t) => {
  const backends = await startBackends(t, 2);
  const [a, b] = backends.map((x) => x.url) as [string, string];
  const bare = await startAdminVelo(t, NO_HEALTH, [a]);
  await bare.api('PUT', '/api/pools/default/strategy', { body: { strategy: 'random' } });
  const none = await bare.api('POST', '/api/config/save');
  t.is(none.status, 400);
  t.regex(none.json.error, /started without a config file/);

  const dir = await mkdtemp(join(tmpdir(), 'velo-save-'));
  const file = join(dir, 'velo.config.yaml');
  await writeFile(file, COMMENTED(a, b));
  const velo = await startAdminVelo(t, COMMENTED(a, b));
  velo.engine.overlay.file = await loadConfig({ file, env: {} });
  await velo.api('PUT', `/api/pools/default/backends/${encodeURIComponent(b)}/weight`, { body: { weight: 4 } });
  const edited = COMMENTED(a, b).replace(`{ url: ${b}, weight: 1 }`, `{ url: ${b}, weight: 9 }`);
  await writeFile(file, edited);
  const conflict = await velo.api('POST', '/api/config/save');
  t.is(conflict.status, 409);
  t.regex(conflict.json.error, /run velo reload first/);
  t.is(conflict.json.code, 'E_CONFLICT');
  t.is(await readFile(file, 'utf8'), edited);
  t.is((await velo.api('GET', '/api/config/save')).status, 405);
});

test('the file watcher does not reload for velo\'s own save, and still reloads a foreign edit', async (t) => {
  const backends = await startBackends(t, 2);
  const [a, b] = backends.map((x) => x.url) as [string, string];
  const dir = await mkdtemp(join(tmpdir(), 'velo-watch-'));
  const file = join(dir, 'velo.config.yaml');
  await writeFile(file, COMMENTED(a, b));
  const flags = { port: 0, host: '127.0.0.1', adminPort: 0 };
  const lines: string[] = [];
  const logger = new Logger('debug', (line) => lines.push(line));
  const config = await loadConfig({ file, env: {}, flags });
  const running = await launch(config, () => loadConfig({ file, env: {}, flags }), logger, { accessLog: false });
  t.teardown(() => running.shutdown());
  const reloads = () => running.engine.events.recent().filter((e) => e.kind === 'reload');
  running.control.setWeight('default', b, 6, 'api');
  const result = await running.control.saveConfig('cli');
  t.is(result.saved, 1);
  await eventually(() => lines.some((l) => l.includes("velo's own save")), 10_000, 'the watcher to see the save');
  t.deepEqual(reloads(), [], 'no reload for velo\'s own save');
  t.is(running.engine.pools[0]!.find(b)!.weight, 6);

  await writeFile(file, (await readFile(file, 'utf8')).replace('strategy: round-robin', 'strategy: random'));
  await eventually(() => reloads().length === 1, 10_000, 'a reload for the foreign edit');
  t.is(running.engine.pools[0]!.strategyName, 'random');
  t.is(running.engine.pools[0]!.find(b)!.weight, 6, 'the saved weight is the file\'s now');
  t.is(running.engine.overlay.size, 0);
});
