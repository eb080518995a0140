/**
 * The built `velo health`, `servers`, `strategy` and `reload` commands against a real
 * in-process engine and admin API: output, exit codes, and one clear line (never a stack
 * trace) when the instance is unreachable, the token is wrong or an argument is bad.
 */
import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startBackends } from '../integration/harness.js';
import { NO_HEALTH, runVelo, startAdminVelo, type CliRun } from '../admin/admin-harness.js';

function oneLine(t: import('ava').ExecutionContext, run: CliRun, pattern: RegExp): void {
  const lines = run.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, run.stderr);
  t.regex(lines[0]!, pattern);
  t.notRegex(run.stderr, /\n\s+at /, 'no stack trace');
}

/**
 * A port nothing listens on: a low one. A port freed by a closed port-0 server could be handed
 * to a test running in parallel.
 */
async function closedPort(): Promise<number> {
  return 1;
}

test('velo health prints a table per pool and exits 0; --json prints the API answer', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['health', '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /pool default \(round-robin\): 2\/2 healthy/);
  t.regex(run.stdout, /BACKEND\s+URL\s+STATE\s+CIRCUIT\s+WEIGHT\s+IN-FLIGHT\s+LAST CHECK/);
  for (const b of backends) t.regex(run.stdout, new RegExp(`${b.url}\\s+healthy\\s+closed\\s+1\\s+0`));
  const json = await runVelo(['health', '--json'], { VELO_ADMIN: velo.admin.url });
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout), { status: 'ok', pools: [{ name: 'default', healthy: 2, total: 2 }] });
});

test('velo health exits 1 when a pool has no healthy backend', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  for (const b of backends) velo.control.drain('default', b.url, 'dashboard');
  const run = await runVelo(['health', '--admin', velo.admin.url]);
  t.is(run.code, 1);
  t.regex(run.stdout, /0\/2 healthy/);
  t.regex(run.stdout, /draining/);
  oneLine(t, run, /^velo: pool default has no healthy backend$/);
  const json = await runVelo(['health', '--json', '--admin', velo.admin.url]);
  t.is(json.code, 1);
  t.is(JSON.parse(json.stdout).status, 'down');
});

test('velo health: a backend drained on purpose is not a failure; the pool is not degraded', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  velo.control.drain('default', backends[0]!.url, 'dashboard');
  const json = await runVelo(['health', '--json', '--admin', velo.admin.url]);
  t.is(json.code, 0, json.stderr);
  t.like(JSON.parse(json.stdout), { status: 'ok', pools: [{ healthy: 1, planned: 1, total: 2 }] });
  const run = await runVelo(['health', '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /pool default \(round-robin\): 1\/2 healthy, 1 draining on purpose/);
  t.is(run.stderr, '');
});

test('velo servers add, drain, undrain and remove change the running pool', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, `${NO_HEALTH}pools:\n  - name: web\n    backends: [${backends[0]!.url}]\n`.replace(NO_HEALTH, ''));
  const admin = ['--admin', velo.admin.url];
  const ids = (): Array<[string, number, boolean]> => velo.engine.pools[0]!.upstreams.map((u) => [u.id, u.weight, u.draining]);
  const url = backends[1]!.url;
  const add = await runVelo(['servers', 'add', url, '--weight', '3', ...admin]);
  t.is(add.code, 0, add.stderr);
  t.is(add.stdout, `added ${url} to pool web (weight 3)\n`, 'the only pool is the default');
  t.deepEqual(ids(), [[backends[0]!.url, 1, false], [url, 3, false]]);
  const drain = await runVelo(['servers', 'drain', new URL(url).host, '--pool', 'web', ...admin]);
  t.is(drain.code, 0, drain.stderr);
  t.regex(drain.stdout, /^draining .* in pool web \(0 in flight\)\n$/);
  t.true(ids()[1]![2]);
  t.is((await runVelo(['servers', 'undrain', url, ...admin])).code, 0);
  t.false(ids()[1]![2]);
  const remove = await runVelo(['servers', 'remove', url, ...admin]);
  t.is(remove.code, 0, remove.stderr);
  t.regex(remove.stdout, /^removed .* from pool web/);
  t.deepEqual(ids(), [[backends[0]!.url, 1, false]]);
  const dup = await runVelo(['servers', 'add', backends[0]!.url, ...admin]);
  t.is(dup.code, 1);
  oneLine(t, dup, /^velo: .* is already in pool "web"$/);
  const missing = await runVelo(['servers', 'drain', 'http://127.0.0.1:1', ...admin]);
  t.is(missing.code, 1);
  oneLine(t, missing, /^velo: no backend "http:\/\/127\.0\.0\.1:1" in pool "web"$/);
  const noPool = await runVelo(['servers', 'remove', url, '--pool', 'api', ...admin]);
  t.is(noPool.code, 1);
  oneLine(t, noPool, /^velo: no pool named "api"$/);
  t.deepEqual(ids(), [[backends[0]!.url, 1, false]], 'rejected commands changed nothing');
});

test('with several pools and none named default, helpers find the backend\'s pool, or ask for --pool naming the pools', async (t) => {
  const backends = await startBackends(t, 2);
  const yaml = `pools:\n  - name: web\n    health_check: { enabled: false }\n    backends: [${backends[0]!.url}]\n  - name: api\n    match: { path_prefix: /api }\n    health_check: { enabled: false }\n    backends: [${backends[1]!.url}]\n`;
  const velo = await startAdminVelo(t, yaml);
  const admin = ['--admin', velo.admin.url];
  const drain = await runVelo(['servers', 'drain', new URL(backends[1]!.url).host, ...admin]);
  t.is(drain.code, 0, drain.stderr);
  t.regex(drain.stdout, /in pool api /);
  t.true(velo.engine.pools[1]!.upstreams[0]!.draining);
  const strategy = await runVelo(['strategy', 'random', ...admin]);
  t.is(strategy.code, 2);
  oneLine(t, strategy, /^velo: velo has several pools \(web, api\): pass --pool NAME$/);
  const add = await runVelo(['servers', 'add', 'http://127.0.0.1:9', ...admin]);
  t.is(add.code, 2);
  oneLine(t, add, /^velo: velo has several pools \(web, api\): pass --pool NAME$/);
  t.is((await runVelo(['strategy', 'random', '--pool', 'api', ...admin])).code, 0);
  t.is(velo.engine.pools[1]!.strategyName, 'random');
});

test('velo strategy switches the algorithm; an unknown one exits 2 listing the valid ones', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['strategy', 'lc', '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, 'pool default: strategy least-connections (was round-robin)\n');
  t.is(velo.engine.pools[0]!.strategyName, 'least-connections');
  const bad = await runVelo(['strategy', 'fastest', '--pool', 'default', '--admin', velo.admin.url]);
  t.is(bad.code, 2);
  oneLine(t, bad, /^velo: unknown strategy "fastest" \(valid: round-robin .*least-latency/);
  t.is(velo.engine.pools[0]!.strategyName, 'least-connections');
});

test('velo reload re-reads the file; a broken file exits 2 with its problems and keeps the config', async (t) => {
  const backends = await startBackends(t, 2);
  const dir = await mkdtemp(join(tmpdir(), 'velo-cli-reload-'));
  const file = join(dir, 'velo.config.yaml');
  const velo = await startAdminVelo(t, NO_HEALTH, [backends[0]!.url]);
  velo.control.reloader = () => loadConfig({ file, env: {}, flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  await writeFile(file, `${NO_HEALTH}backends: [${backends[0]!.url}, ${backends[1]!.url}]\n`);
  const ok = await runVelo(['reload', '--admin', velo.admin.url]);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout, 'reloaded: 1 pool, +1 -0 backends, 1 kept\n');
  t.is(velo.engine.pools[0]!.upstreams.length, 2);
  velo.control.setWeight('default', backends[1]!.url, 4, 'cli');
  velo.control.setStrategy('default', 'random', 'cli');
  await writeFile(file, `${NO_HEALTH}strategy: least-connections\nbackends: [${backends[0]!.url}, ${backends[1]!.url}]\n`);
  const overlay = await runVelo(['reload', '--admin', velo.admin.url]);
  t.is(
    overlay.stdout,
    `reloaded: 1 pool, +0 -0 backends, 2 kept\n  kept runtime weight 4 on ${new URL(backends[1]!.url).host} in pool default\n  file now sets strategy least-connections on pool default; runtime strategy random dropped\n`,
  );
  await writeFile(file, `${NO_HEALTH}backends: [nope]\n`);
  const bad = await runVelo(['reload', '--admin', velo.admin.url]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^velo: reload rejected; the running config is kept\n {2}2:\d+ backends\[0\]: /);
  t.notRegex(bad.stderr, /\n\s+at /);
  t.is(velo.engine.pools[0]!.upstreams.length, 2);
});

test('an unreachable admin API is one line and exit 3 for every subcommand', async (t) => {
  const admin = `http://127.0.0.1:${await closedPort()}`;
  for (const args of [['health'], ['servers', 'add', 'http://127.0.0.1:8083'], ['servers', 'remove', 'x'], ['strategy', 'rr'], ['reload']]) {
    const run = await runVelo([...args, '--admin', admin]);
    t.is(run.code, 3, args.join(' '));
    oneLine(t, run, /^velo: cannot reach the velo admin API \(admin 127\.0\.0\.1:1 from --admin\): connection refused \(is velo running\? pass --admin URL or -c FILE, or set \$VELO_ADMIN\)$/);
  }
  const viaEnv = await runVelo(['health'], { VELO_ADMIN: admin.replace('http://', '') });
  t.is(viaEnv.code, 3, 'VELO_ADMIN without a scheme means http');
  oneLine(t, viaEnv, /\(admin 127\.0\.0\.1:1 from \$VELO_ADMIN\)/);
});

test('without --admin, every helper finds the admin API through the config lookup of velo start', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const dir = await mkdtemp(join(tmpdir(), 'velo-cli-lookup-'));
  const port = velo.admin.address.port;
  await writeFile(join(dir, 'velo.config.yaml'), `admin: { host: 127.0.0.1, port: ${port} }\nbackends: [${backends[0]!.url}]\n`);
  const inDir = await runVelo(['health', '--json'], {}, dir);
  t.is(inDir.code, 0, inDir.stderr);
  t.like(JSON.parse(inDir.stdout), { status: 'ok' });
  const other = join(dir, 'other.yaml');
  await writeFile(other, `admin: { port: ${port} }\nbackends: [${backends[0]!.url}]\n`);
  for (const [env, args] of [[{}, ['-c', other]], [{ VELO_CONFIG: other }, []], [{ LB_CONFIG: other }, []], [{ VELO_ADMIN_PORT: String(port) }, []]] as const) {
    const run = await runVelo(['strategy', 'rr', ...args], env, tmpdir());
    t.is(run.code, 0, `${JSON.stringify(env)} ${args.join(' ')}: ${run.stderr}`);
  }
  // A failure names the address and where it came from.
  await writeFile(join(dir, 'velo.config.yaml'), `admin: { port: 1 }\nbackends: [${backends[0]!.url}]\n`);
  for (const args of [['health'], ['reload'], ['servers', 'drain', 'x'], ['strategy', 'rr']]) {
    const down = await runVelo(args, {}, dir);
    t.is(down.code, 3, args.join(' '));
    oneLine(t, down, /^velo: cannot reach the velo admin API \(admin 127\.0\.0\.1:1 from \.\/velo\.config\.yaml\): connection refused/);
  }
  const envPort = await runVelo(['health'], { VELO_ADMIN_PORT: '1' }, tmpdir());
  oneLine(t, envPort, /\(admin 127\.0\.0\.1:1 from \$VELO_ADMIN_PORT\)/);
  const help = await runVelo(['health', '--help']);
  t.regex(help.stdout, /Finding velo: --admin URL .*\n.*-c FILE, else \$VELO_CONFIG, else \.\/velo\.config\.yaml/);
});

test('a missing or wrong token is exit 3 with a clear line; the right one works', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url), { token: 'tok-123' });
  const missing = await runVelo(['health', '--admin', velo.admin.url]);
  t.is(missing.code, 3);
  oneLine(t, missing, /^velo: .*refused the request: an admin token is required.*\(set \$VELO_ADMIN_TOKEN\)$/);
  const wrong = await runVelo(['strategy', 'rr', '--admin', velo.admin.url], { VELO_ADMIN_TOKEN: 'tok-12' });
  t.is(wrong.code, 3);
  oneLine(t, wrong, /^velo: .*refused the request: the admin token is wrong \(check \$VELO_ADMIN_TOKEN\)$/);
  t.is((await runVelo(['health', '--admin', velo.admin.url], { VELO_ADMIN_TOKEN: 'tok-123' })).code, 0);
});

test('bad arguments exit 2 with one line; --help shows examples', async (t) => {
  for (const [args, pattern] of [
    [['health', '--admin', 'ftp://127.0.0.1:8407'], /--admin must be an http or https URL/],
    [['health', '-c', '/nonexistent/velo.yaml'], /cannot find velo's address: .*cannot read \/nonexistent\/velo\.yaml: file not found/],
    [['health', '--admin', 'http://[nope'], /--admin must be an http URL/],
    [['servers', 'add', 'http://127.0.0.1:8083', '--weight', 'heavy'], /--weight must be an integer from 1 to 1000, got "heavy"/],
    [['servers', 'add'], /^velo: missing required argument "url"/],
    [['strategy'], /^velo: missing required argument "name"/],
    [['health', '--bogus'], /^velo: unknown option "--bogus"/],
  ] as const) {
    const run = await runVelo([...args]);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, pattern);
    t.notRegex(run.stderr, /\n\s+at /);
  }
  for (const args of [['health'], ['servers'], ['servers', 'add'], ['strategy'], ['reload'], ['make-request']]) {
    const help = await runVelo([...args, '--help']);
    t.is(help.code, 0, args.join(' '));
    t.regex(help.stdout, /Examples?:\n {2}velo /, args.join(' '));
  }
});

test('velo servers weight, disable and enable change the running pool; a bad weight exits 2', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const admin = ['--admin', velo.admin.url];
  const url = backends[1]!.url;
  const u = () => velo.engine.pools[0]!.find(url)!;
  const weight = await runVelo(['servers', 'weight', url, '5', ...admin]);
  t.is(weight.code, 0, weight.stderr);
  t.is(weight.stdout, `weight of ${url} in pool default: 5 (was 1)\n`);
  t.is(u().weight, 5);
  const bad = await runVelo(['servers', 'weight', url, '0', ...admin]);
  t.is(bad.code, 2);
  oneLine(t, bad, /^velo: weight must be an integer from 1 to 1000, got "0"$/);
  const disable = await runVelo(['servers', 'disable', new URL(url).host, ...admin]);
  t.is(disable.code, 0, disable.stderr);
  t.is(disable.stdout, `${url} in pool default is in maintenance (0 in flight finishing)\n`);
  t.true(u().maintenance);
  const health = await runVelo(['health', ...admin]);
  t.regex(health.stdout, new RegExp(`${url}\\s+maint\\s`));
  t.regex(health.stdout, /^2 runtime changes not in the config file \(velo config diff, velo config save\)$/m);
  const enable = await runVelo(['servers', 'enable', url, ...admin]);
  t.is(enable.code, 0, enable.stderr);
  t.is(enable.stdout, `${url} in pool default is out of maintenance (state healthy)\n`);
  t.false(u().maintenance);
});

test('velo config diff lists runtime changes and velo config save writes them into the file', async (t) => {
  const backends = await startBackends(t, 2);
  const [a, b] = backends.map((x) => x.url) as [string, string];
  const dir = await mkdtemp(join(tmpdir(), 'velo-cli-config-'));
  const file = join(dir, 'velo.config.yaml');
  const text = `# keep me\n${NO_HEALTH}backends:\n  - ${a}   # first\n  - ${b}\n`;
  await writeFile(file, text);
  const velo = await startAdminVelo(t, text);
  velo.engine.overlay.file = await loadConfig({ file, env: {} });
  velo.control.reloader = () => loadConfig({ file, env: {} });
  const admin = ['--admin', velo.admin.url];
  const empty = await runVelo(['config', 'diff', ...admin]);
  t.is(empty.code, 0, empty.stderr);
  t.is(empty.stdout, `no runtime changes: nothing changed at runtime differs from ${file} (environment variables and flags given at start still apply over it)\n`);
  velo.control.setWeight('default', a, 3, 'dashboard');
  velo.control.drain('default', b, 'dashboard');
  const diff = await runVelo(['config', 'diff', ...admin]);
  t.is(diff.stdout, `2 runtime changes not in ${file}:\n  weight 3 on ${new URL(a).host} in pool default (file: 1)\n  drain on ${new URL(b).host} in pool default (file: false)\n`);
  const save = await runVelo(['config', 'save', ...admin]);
  t.is(save.code, 0, save.stderr);
  t.is(save.stdout, `saved 2 runtime changes to ${file}:\n  weight 3 on ${new URL(a).host} in pool default\n  drain on ${new URL(b).host} in pool default\n`);
  t.is(await readFile(file, 'utf8'), `# keep me\n${NO_HEALTH}backends:\n  - { url: ${a}, weight: 3 }   # first\n  - { url: ${b}, drain: true }\n`);
  const again = await runVelo(['config', 'save', ...admin]);
  t.is(again.stdout, `nothing to save: ${file} already holds the running config\n`);
});
