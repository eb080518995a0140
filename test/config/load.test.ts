import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig, parseConfigText, type LoadOptions } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const FILE = `
listen: { host: 127.0.0.2, port: 7000 }
admin: { port: 9100 }
strategy: random
log_level: warn
backends: [http://127.0.0.1:8081, http://127.0.0.1:8082]
`;

async function tempDir(t: { teardown(fn: () => Promise<void>): void }, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function loadError(opts: LoadOptions): Promise<ConfigError> {
  try {
    await loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to reject');
}

test('defaults apply when there is no file', async (t) => {
  const cwd = await tempDir(t);
  const c = await loadConfig({ cwd, env: {}, flags: { backends: ['http://127.0.0.1:8081'] } });
  t.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 });
  t.deepEqual(c.admin, { enabled: true, host: '127.0.0.1', port: 8407 });
  t.is(c.pools[0]!.strategy, 'round-robin');
  t.is(c.logLevel, 'info');
  t.is(c.source, undefined);
});

test('precedence is defaults < file < environment < flags', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': FILE });
  const fileOnly = await loadConfig({ cwd, env: {} });
  t.like(fileOnly, { listen: { host: '127.0.0.2', port: 7000 }, admin: { port: 9100 }, logLevel: 'warn' });
  t.is(fileOnly.pools[0]!.strategy, 'random');
  t.is(fileOnly.clientHeaderTimeoutMs, 10_000, 'unset keys keep their defaults');

  const env = { VELO_PORT: '7100', VELO_HOST: '127.0.0.3', VELO_STRATEGY: 'ip_hash', VELO_ADMIN_PORT: '9200', VELO_LOG_LEVEL: 'ERROR' };
  const withEnv = await loadConfig({ cwd, env });
  t.like(withEnv, { listen: { host: '127.0.0.3', port: 7100 }, admin: { port: 9200 }, logLevel: 'error' });
  t.is(withEnv.pools[0]!.strategy, 'ip-hash');

  const withFlags = await loadConfig({ cwd, env, flags: { port: 7200, host: '127.0.0.4', adminPort: 9300, strategy: 'UrlHash' } });
  t.like(withFlags, { listen: { host: '127.0.0.4', port: 7200 }, admin: { port: 9300 }, logLevel: 'error' });
  t.is(withFlags.pools[0]!.strategy, 'url-hash');
});

test('the legacy LB_* and LOG_LEVEL names work, and VELO_* names win over them', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': FILE });
  const legacy = { LB_PORT: '7300', LB_ADDRESS: '127.0.0.5', LB_STRATEGY: 'lc', LOG_LEVEL: 'debug' };
  const c = await loadConfig({ cwd, env: legacy });
  t.like(c, { listen: { host: '127.0.0.5', port: 7300 }, logLevel: 'debug' });
  t.is(c.pools[0]!.strategy, 'least-connections');

  const both = await loadConfig({ cwd, env: { ...legacy, VELO_PORT: '7400', VELO_HOST: '127.0.0.6', VELO_STRATEGY: 'p2c', VELO_LOG_LEVEL: 'silent' } });
  t.like(both, { listen: { host: '127.0.0.6', port: 7400 }, logLevel: 'silent' });
  t.is(both.pools[0]!.strategy, 'power-of-two');
});

test('the config file is found through -c, then $VELO_CONFIG, then ./velo.config.yaml', async (t) => {
  const cwd = await tempDir(t, {
    'velo.config.yaml': 'listen: { port: 7001 }\nbackends: [http://a]',
    'conf/env.yaml': 'listen: { port: 7002 }\nbackends: [http://a]',
    'conf/flag.json': '{ "listen": { "port": 7003 }, "backends": ["http://a"] }',
  });
  const local = await loadConfig({ cwd, env: {} });
  t.is(local.listen.port, 7001);
  t.is(local.source, join(cwd, 'velo.config.yaml'));

  const viaEnv = await loadConfig({ cwd, env: { VELO_CONFIG: 'conf/env.yaml' } });
  t.is(viaEnv.listen.port, 7002);
  t.is(viaEnv.source, join(cwd, 'conf/env.yaml'));

  const viaFlag = await loadConfig({ cwd, file: 'conf/flag.json', env: { VELO_CONFIG: 'conf/env.yaml' } });
  t.is(viaFlag.listen.port, 7003);
  t.is(viaFlag.source, join(cwd, 'conf/flag.json'));
});

test('a named file that does not exist is an error, not the defaults', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': 'backends: [http://a]' });
  for (const opts of [{ file: 'missing.yaml', env: {} }, { env: { VELO_CONFIG: 'missing.yaml' } }]) {
    const err = await loadError({ cwd, ...opts });
    t.is(err.file, join(cwd, 'missing.yaml'));
    t.regex(err.issues[0]!.message, /missing\.yaml: file not found/);
  }
});

test('--backend flags replace the first pool\'s backends, and VELO_BACKENDS replaces the file\'s', async (t) => {
  const cwd = await tempDir(t, {
    'velo.config.yaml': 'pools:\n  - name: web\n    backends: [http://w1, http://w2]\n  - name: api\n    match: { path_prefix: /api }\n    backends: [http://a1]\n',
  });
  const env = { VELO_BACKENDS: ' http://e1 , HTTP://E2:80/,' };
  const fromEnv = await loadConfig({ cwd, env });
  t.deepEqual(fromEnv.pools[0]!.backends, [{ url: 'http://e1', weight: 1 }, { url: 'http://e2', weight: 1 }]);

  const fromFlags = await loadConfig({ cwd, env, flags: { backends: ['http://127.0.0.1:9001'] } });
  t.deepEqual(fromFlags.pools[0]!.backends, [{ url: 'http://127.0.0.1:9001', weight: 1 }]);
  t.deepEqual(fromFlags.pools[1]!.backends, [{ url: 'http://a1', weight: 1 }], 'other pools keep theirs');
});

test('the short form may leave backends to the --backend flags', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': 'strategy: rr\nbackends: []\n' });
  const c = await loadConfig({ cwd, env: {}, flags: { backends: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'] } });
  t.is(c.pools[0]!.backends.length, 2);
});

test('no backends anywhere is a warning with its place and a hint, not an error: pools may be empty', async (t) => {
  const hint = 'requests get 503 until one is added: in the config, with --backend URL, or at runtime (velo servers add URL)';
  const empty = await tempDir(t);
  const noFile = await loadConfig({ cwd: empty, env: {} });
  t.deepEqual(noFile.pools[0]!.backends, []);
  t.deepEqual(noFile.warnings, [{ path: 'backends', message: 'pool "default" has no backends', hint }]);

  const cwd = await tempDir(t, { 'velo.config.yaml': 'listen: { port: 7000 }\nbackends: []\n' });
  const inFile = await loadConfig({ cwd, env: {} });
  t.deepEqual(inFile.warnings, [{ path: 'backends', line: 2, column: 11, message: 'pool "default" has no backends', hint }]);

  const withOther = await tempDir(t, { 'velo.config.yaml': 'listen: { port: 70000 }\nbackends: []\n' });
  const err = await loadError({ cwd: withOther, env: {} });
  t.deepEqual(err.issues.map((i) => i.path), ['listen.port'], 'every other rule is still an error');
});

test('environment values and flags are validated and named in the issues', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': FILE });
  const err = await loadError({
    cwd,
    env: { VELO_PORT: 'eighty', LB_ADDRESS: 'not a host', VELO_STRATEGY: 'fastest', VELO_BACKENDS: 'localhost:1', LOG_LEVEL: 'loud' },
    flags: { port: 70000, backends: ['http://a', 'http://A/'] },
  });
  t.deepEqual(err.issues.map((i) => i.path), ['env.VELO_PORT', 'env.LB_ADDRESS', 'env.VELO_STRATEGY', 'env.LOG_LEVEL', 'env.VELO_BACKENDS[0]', '--port', '--backend[1]']);
  t.regex(err.issues[2]!.hint!, /least-connections/);
});

test('an empty environment variable counts as unset', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': FILE });
  const c = await loadConfig({ cwd, env: { VELO_PORT: '', LB_PORT: '7500' } });
  t.is(c.listen.port, 7500);
});

test('an admin API off loopback needs a token, which the environment may supply', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': 'admin: { host: 0.0.0.0 }\nbackends: [http://a]\n' });
  const err = await loadError({ cwd, env: {} });
  t.like(err.issues[0], { path: 'admin.token', line: 1, column: 8 });
  const c = await loadConfig({ cwd, env: { VELO_ADMIN_TOKEN: 's3cret' } });
  t.is(c.admin.token, 's3cret');
});

test('the admin API cannot share the listen port', async (t) => {
  const cwd = await tempDir(t, { 'velo.config.yaml': 'listen: { port: 8000 }\nbackends: [http://a]\n' });
  const err = await loadError({ cwd, env: {}, flags: { adminPort: 8000 } });
  t.is(err.issues[0]!.path, 'admin.port');
  await t.notThrowsAsync(loadConfig({ cwd, env: {}, flags: { port: 0, adminPort: 0 } }));
});

test('invalid backend entries are reported once, without an extra "no backends" issue', (t) => {
  const err = t.throws(() => parseConfigText('backends: [htp//127.0.0.1:8082, "http://127.0.0.1:99999"]\n', 'b.yaml'));
  t.deepEqual(
    (err as ConfigError).issues.map((i) => i.path),
    ['backends[0]', 'backends[1]'],
  );
});

test('the seed env names are honoured: LB_ALGORITHM, LB_DEBUG, HEALTH_CHECK_INTERVAL/TIMEOUT, CIRCUIT_FAILURE_THRESHOLD', (t) => {
  const env = { LB_ALGORITHM: 'lc', LB_DEBUG: 'true', HEALTH_CHECK_INTERVAL: '7s', HEALTH_CHECK_TIMEOUT: '1500ms', CIRCUIT_FAILURE_THRESHOLD: '9' };
  const c = parseConfigText('backends: [http://127.0.0.1:8081]\n', undefined, { env });
  t.is(c.pools[0]!.strategy, 'least-connections');
  t.is(c.logLevel, 'debug');
  t.like(c.pools[0]!.healthCheck, { intervalMs: 7000, timeoutMs: 1500 });
  t.is(c.pools[0]!.circuitBreaker.failureThreshold, 9);
  t.is(parseConfigText('backends: [http://127.0.0.1:8081]\n', undefined, { env: { LB_DEBUG: '0' } }).logLevel, 'info');
  t.is(parseConfigText('backends: [http://127.0.0.1:8081]\n', undefined, { env: { LB_DEBUG: '1', LOG_LEVEL: 'warn' } }).logLevel, 'warn', 'an explicit level wins');
});

test('a bad seed env value is refused with its name, never ignored', (t) => {
  for (const [name, value, pattern] of [
    ['LB_DEBUG', 'maybe', /env\.LB_DEBUG: "maybe" is not a yes or no/],
    ['HEALTH_CHECK_INTERVAL', '5', /env\.HEALTH_CHECK_INTERVAL: "5" is not a duration with a unit/],
    ['HEALTH_CHECK_TIMEOUT', 'soon', /env\.HEALTH_CHECK_TIMEOUT: "soon" is not a duration/],
    ['CIRCUIT_FAILURE_THRESHOLD', '0', /env\.CIRCUIT_FAILURE_THRESHOLD: "0" is not a failure count/],
    ['LB_ALGORITHM', 'fastest', /env\.LB_ALGORITHM: unknown strategy "fastest"/],
  ] as const) {
    const err = t.throws(() => parseConfigText('backends: [http://127.0.0.1:8081]\n', undefined, { env: { [name]: value } }), { instanceOf: ConfigError }, name);
    t.regex(err!.message, pattern);
  }
});
