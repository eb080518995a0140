/**
 * Runtime changes are an overlay on the config file, on real sockets: each kind of change
 * (weight, drain, maintenance, add, remove, strategy) survives a reload whose file left that
 * item alone, and gives way when the file changed that very item; the reload answer and the
 * event log name each one.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestBackend } from '../../src/backend/test-backend.js';
import { loadConfig } from '../../src/config/load.js';
import { NO_HEALTH, startAdminVelo, type AdminVelo } from '../admin/admin-harness.js';
import { client, get, startBackends, tally } from './harness.js';

interface Setup {
  velo: AdminVelo;
  b: TestBackend[];
  /** host:port of backend i, its display name. */
  name: (i: number) => string;
  /** Writes the config file: round-robin, `lines` as the backends list. */
  write: (backends: string, extra?: string) => Promise<void>;
  reload: () => Promise<{ kept: string[]; overridden: string[] }>;
  upstream: (i: number) => ReturnType<AdminVelo['engine']['pools'][number]['find']>;
}

async function setup(t: ExecutionContext): Promise<Setup> {
  const b = await startBackends(t, 3);
  const dir = await mkdtemp(join(tmpdir(), 'velo-overlay-'));
  const file = join(dir, 'velo.config.yaml');
  const write = (backends: string, extra = ''): Promise<void> => writeFile(file, `${NO_HEALTH}strategy: round-robin\n${extra}backends:\n${backends}`);
  await write(`  - ${b[0]!.url}\n  - ${b[1]!.url}\n`);
  const flags = { port: 0, host: '127.0.0.1', adminPort: 0 };
  const config = await loadConfig({ file, env: {}, flags });
  const velo = await startAdminVelo(t, `${NO_HEALTH}backends: [${b[0]!.url}, ${b[1]!.url}]\n`);
  // The instance runs the file's config, as `velo start -c file` would.
  velo.engine.overlay.file = config;
  velo.control.reloader = () => loadConfig({ file, env: {}, flags });
  const reload = async () => {
    const r = await velo.api('POST', '/api/reload');
    t.is(r.status, 200, r.text);
    return r.json.runtime as { kept: string[]; overridden: string[] };
  };
  return {
    velo,
    b,
    name: (i) => new URL(b[i]!.url).host,
    write,
    reload,
    upstream: (i) => velo.engine.pools[0]!.find(b[i]!.url),
  };
}

async function ok(t: ExecutionContext, velo: AdminVelo, method: string, path: string, body?: unknown): Promise<void> {
  const r = await velo.api(method, path, body === undefined ? {} : { body });
  t.true(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
}

const backendPath = (s: Setup, i: number, action = ''): string => `/api/pools/default/backends/${encodeURIComponent(s.b[i]!.url)}${action}`;

test('weight: kept when the file changed something else, the file wins when it sets that weight', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'PUT', backendPath(s, 1, '/weight'), { weight: 5 });
  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n`, 'log_level: warn\n');
  t.deepEqual(await s.reload(), { kept: [`kept runtime weight 5 on ${s.name(1)} in pool default`], overridden: [] });
  t.is(s.upstream(1)!.weight, 5);
  t.is((await s.velo.api('GET', '/api/pools')).json.runtimeChanges, 1);

  await s.write(`  - ${s.b[0]!.url}\n  - { url: ${s.b[1]!.url}, weight: 2 }\n`);
  t.deepEqual(await s.reload(), { kept: [], overridden: [`file now sets weight 2 on ${s.name(1)} in pool default; runtime weight 5 dropped`] });
  t.is(s.upstream(1)!.weight, 2);
  t.is((await s.velo.api('GET', '/api/pools')).json.runtimeChanges, 0);
});

test('drain: kept across a reload, and a drained backend gets no request; dropped when the file removes the backend', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'POST', backendPath(s, 1, '/drain'));
  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n  - ${s.b[2]!.url}\n`);
  t.deepEqual(await s.reload(), { kept: [`kept runtime drain on ${s.name(1)} in pool default`], overridden: [] });
  t.true(s.upstream(1)!.draining);
  const agent = client(t);
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push((await get(agent, s.velo.url)).body.trim());
  t.deepEqual(tally(names), { b0: 3, b2: 3 });

  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[2]!.url}\n`);
  t.deepEqual(await s.reload(), { kept: [], overridden: [`file no longer lists ${s.name(1)} in pool default; runtime drain dropped`] });
  t.is(s.upstream(1), undefined);
});

test('maintenance: kept across a reload; the file setting maintenance itself wins', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'POST', backendPath(s, 0, '/disable'));
  await s.write(`  - ${s.b[0]!.url}\n  - { url: ${s.b[1]!.url}, weight: 2 }\n`);
  t.deepEqual(await s.reload(), { kept: [`kept runtime maintenance on ${s.name(0)} in pool default`], overridden: [] });
  t.true(s.upstream(0)!.maintenance);
  t.is((await s.velo.api('GET', backendPath(s, 0))).json.backend.state, 'maint');

  await ok(t, s.velo, 'POST', backendPath(s, 1, '/disable'));
  await s.write(`  - { url: ${s.b[0]!.url}, maintenance: false, weight: 3 }\n  - { url: ${s.b[1]!.url}, weight: 2, maintenance: true }\n`);
  const report = await s.reload();
  t.deepEqual(report.kept, [`kept runtime maintenance on ${s.name(0)} in pool default`], 'maintenance: false is what the file said before too');
  t.deepEqual(report.overridden, [`file now sets maintenance true on ${s.name(1)} in pool default; runtime maintenance dropped`]);
  t.true(s.upstream(1)!.maintenance, 'the file now puts it in maintenance itself');
  t.is(s.upstream(0)!.weight, 3);
});

test('add: a backend added at runtime stays; the file listing it wins with its own weight', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'POST', '/api/pools/default/backends', { url: s.b[2]!.url, weight: 3 });
  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n`, 'log_level: warn\n');
  t.deepEqual(await s.reload(), { kept: [`kept runtime add of ${s.name(2)} to pool default`], overridden: [] });
  t.is(s.upstream(2)!.weight, 3);
  const kept = s.upstream(2);

  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n  - { url: ${s.b[2]!.url}, weight: 2 }\n`);
  t.deepEqual(await s.reload(), { kept: [], overridden: [`file now lists ${s.name(2)} in pool default; runtime add dropped`] });
  t.is(s.upstream(2), kept, 'the same backend, its stats kept');
  t.is(s.upstream(2)!.weight, 2);
});

test('remove: a backend removed at runtime stays removed; the file dropping it too ends the change', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'DELETE', backendPath(s, 1));
  await s.write(`  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n`, 'log_level: warn\n');
  t.deepEqual(await s.reload(), { kept: [`kept runtime removal of ${s.name(1)} from pool default`], overridden: [] });
  t.is(s.upstream(1), undefined, 'not brought back by the reload');

  await s.write(`  - ${s.b[0]!.url}\n`);
  t.deepEqual(await s.reload(), { kept: [], overridden: [`file no longer lists ${s.name(1)} in pool default; runtime removal dropped`] });
  t.is((await s.velo.api('GET', '/api/config/diff')).json.count, 0);
});

test('strategy: kept when the file changed a backend, the file wins when it sets a strategy', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'PUT', '/api/pools/default/strategy', { strategy: 'least-connections' });
  await s.write(`  - ${s.b[0]!.url}\n  - { url: ${s.b[1]!.url}, weight: 4 }\n`);
  t.deepEqual(await s.reload(), { kept: ['kept runtime strategy least-connections on pool default'], overridden: [] });
  t.is(s.velo.engine.pools[0]!.strategyName, 'least-connections');

  // The same item changed in the file: round-robin -> random.
  const file = (await s.velo.api('GET', '/api/config/diff')).json.file as string;
  await writeFile(file, `${NO_HEALTH}strategy: random\nbackends:\n  - ${s.b[0]!.url}\n  - { url: ${s.b[1]!.url}, weight: 4 }\n`);
  t.deepEqual(await s.reload(), { kept: [], overridden: ['file now sets strategy random on pool default; runtime strategy least-connections dropped'] });
  t.is(s.velo.engine.pools[0]!.strategyName, 'random');
});

test('one reload names every change it kept and every one the file overrode, in the answer and the event log', async (t) => {
  const s = await setup(t);
  await ok(t, s.velo, 'PUT', backendPath(s, 1, '/weight'), { weight: 5 });
  await ok(t, s.velo, 'PUT', '/api/pools/default/strategy', { strategy: 'random' });
  await ok(t, s.velo, 'POST', backendPath(s, 0, '/drain'));
  const file = (await s.velo.api('GET', '/api/config/diff')).json.file as string;
  await writeFile(file, `${NO_HEALTH}strategy: least-connections\nbackends:\n  - ${s.b[0]!.url}\n  - ${s.b[1]!.url}\n`);
  const report = await s.reload();
  const expected = {
    kept: [`kept runtime weight 5 on ${s.name(1)} in pool default`, `kept runtime drain on ${s.name(0)} in pool default`],
    overridden: ['file now sets strategy least-connections on pool default; runtime strategy random dropped'],
  };
  t.deepEqual(report, expected);
  const event = s.velo.engine.events.recent().filter((e) => e.kind === 'reload').at(-1)!;
  t.is(event.level, 'warn', 'an overridden change is worth a look');
  t.is(event.message, ['config reloaded by api: 1 pool, +0 -0 backends, 2 kept', ...expected.kept, ...expected.overridden].join('; '));
  t.is(s.velo.engine.sampler.tick().runtimeChanges, 2);
});
