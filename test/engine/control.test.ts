import test, { type ExecutionContext } from 'ava';
import { describeStrategies } from '../../src/balancing/registry.js';
import { parseConfigText } from '../../src/config/load.js';
import type { StrategyName, VeloConfig } from '../../src/config/types.js';
import { Control } from '../../src/engine/control.js';
import { Engine } from '../../src/engine/engine.js';
import { ConfigError, httpStatusFor, VeloError, type VeloErrorCode } from '../../src/errors.js';
import type { ProbeResult } from '../../src/health/active-check.js';
import { Logger } from '../../src/log/logger.js';

const START = `
pools:
  - name: web
    backends:
      - http://127.0.0.1:1
      - { url: http://127.0.0.1:2, weight: 3, name: two }
  - name: api
    match: { path_prefix: /api }
    backends: [http://127.0.0.1:3]
`;

const WALL = 1_700_000_000_000;

/** An engine built from `yaml` but never started: no sockets, no timers. */
function setup(t: ExecutionContext, yaml = START, probe?: () => Promise<ProbeResult>) {
  const engine = new Engine({
    config: parseConfigText(yaml, undefined),
    sampleEveryMs: 0,
    logger: new Logger('silent'),
    clock: () => 0,
    wallClock: () => WALL,
    ...(probe !== undefined ? { probe } : {}),
  });
  t.teardown(() => engine.stop());
  const control = new Control(engine);
  const pool = (name: string) => engine.pools.find((p) => p.name === name)!;
  const ids = (name: string) => pool(name).upstreams.map((u) => u.id);
  const events = () => engine.events.recent().map((e) => ({ kind: e.kind, level: e.level, message: e.message, pool: e.pool, backend: e.backend }));
  /** Everything an operation could change, to show that a rejected one changed nothing. */
  const state = () =>
    JSON.stringify({
      pools: engine.pools.map((p) => ({
        name: p.name,
        strategy: p.strategyName,
        upstreams: p.upstreams.map((u) => [u.id, u.name, u.weight, u.draining, u.removed]),
      })),
      events: engine.events.recent().length,
    });
  return { engine, control, pool, ids, events, state };
}

function veloError(t: ExecutionContext, fn: () => unknown, code: VeloErrorCode, status: number): VeloError {
  const err = t.throws(fn) as VeloError;
  t.true(err instanceof VeloError, String(err));
  t.is(err.code, code);
  t.is(httpStatusFor(err), status);
  return err;
}

// ---- addBackend ----

test('addBackend appends a backend with weight 1 by default and records the event', (t) => {
  const s = setup(t);
  const u = s.control.addBackend('web', { url: 'http://127.0.0.1:9' });
  t.is(u.id, 'http://127.0.0.1:9');
  t.is(u.weight, 1);
  t.is(u.name, '127.0.0.1:9');
  t.deepEqual(s.ids('web'), ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:9']);
  t.is(s.pool('web').upstreams[2], u);
  t.deepEqual(s.events(), [{ kind: 'admin', level: 'info', message: 'added 127.0.0.1:9 (weight 1) [api]', pool: 'web', backend: 'http://127.0.0.1:9' }]);
});

test('addBackend takes weight, name and actor', (t) => {
  const s = setup(t);
  const u = s.control.addBackend('api', { url: 'HTTP://LocalHost:8080/', weight: 1000, name: 'big' }, 'dashboard');
  t.deepEqual([u.id, u.name, u.weight], ['http://localhost:8080', 'big', 1000]);
  t.deepEqual(s.ids('api'), ['http://127.0.0.1:3', 'http://localhost:8080']);
  t.is(s.events()[0]!.message, 'added big (weight 1000) [dashboard]');
});

for (const spelling of ['http://127.0.0.1:1/', 'HTTP://127.0.0.1:1', ' http://127.0.0.1:1 ', 'http://127.0.0.1:1///']) {
  test(`addBackend of ${JSON.stringify(spelling)} is E_CONFLICT (already there as http://127.0.0.1:1) and changes nothing`, (t) => {
    const s = setup(t);
    const before = s.state();
    const err = veloError(t, () => s.control.addBackend('web', { url: spelling }), 'E_CONFLICT', 409);
    t.is(err.message, 'http://127.0.0.1:1 is already in pool "web"');
    t.is(s.state(), before);
  });
}

test('the default port is the same backend: http://localhost then http://LOCALHOST:80/ is E_CONFLICT', (t) => {
  const s = setup(t);
  s.control.addBackend('web', { url: 'http://localhost' });
  const before = s.state();
  veloError(t, () => s.control.addBackend('web', { url: 'http://LOCALHOST:80/' }), 'E_CONFLICT', 409);
  t.is(s.state(), before);
});

test('the same URL may be in two different pools', (t) => {
  const s = setup(t);
  s.control.addBackend('api', { url: 'http://127.0.0.1:1' });
  t.deepEqual(s.ids('api'), ['http://127.0.0.1:3', 'http://127.0.0.1:1']);
});

const BAD_URLS: unknown[] = ['127.0.0.1:9', 'ftp://127.0.0.1:9', '', 'http://user:pw@127.0.0.1:9', 'http://127.0.0.1:9/?q=1', 'http://', 42, undefined];

for (const url of BAD_URLS) {
  test(`addBackend with url ${JSON.stringify(url) ?? 'undefined'} is E_BAD_REQUEST and changes nothing`, (t) => {
    const s = setup(t);
    const before = s.state();
    veloError(t, () => s.control.addBackend('web', { url } as { url: string }), 'E_BAD_REQUEST', 400);
    t.is(s.state(), before);
  });
}

const BAD_WEIGHTS: unknown[] = [0, 1.5, 1001, -1, '2', NaN, Infinity];

for (const weight of BAD_WEIGHTS) {
  test(`addBackend with weight ${typeof weight === 'string' ? JSON.stringify(weight) : String(weight)} is E_BAD_REQUEST and changes nothing`, (t) => {
    const s = setup(t);
    const before = s.state();
    const err = veloError(t, () => s.control.addBackend('web', { url: 'http://127.0.0.1:9', weight } as { url: string; weight: number }), 'E_BAD_REQUEST', 400);
    t.regex(err.message, /^weight must be an integer from 1 to 1000, got /);
    t.is(s.state(), before);
  });
}

test('addBackend to an unknown pool is E_NOT_FOUND and changes nothing', (t) => {
  const s = setup(t);
  const before = s.state();
  const err = veloError(t, () => s.control.addBackend('nope', { url: 'http://127.0.0.1:9' }), 'E_NOT_FOUND', 404);
  t.is(err.message, 'no pool named "nope"');
  t.is(s.state(), before);
});

test('addBackend with the name of another backend of the pool is E_CONFLICT', (t) => {
  const s = setup(t);
  const before = s.state();
  veloError(t, () => s.control.addBackend('web', { url: 'http://127.0.0.1:9', name: 'two' }), 'E_CONFLICT', 409);
  t.is(s.state(), before);
});

// ---- removeBackend ----

for (const ref of ['http://127.0.0.1:2', 'HTTP://127.0.0.1:2/', 'two']) {
  test(`removeBackend by ${JSON.stringify(ref)} takes it out of the pool at once and marks it removed`, (t) => {
    const s = setup(t);
    const web = s.pool('web');
    const u = web.upstreams[1]!;
    const removed = s.control.removeBackend('web', ref, 'cli');
    t.is(removed, u);
    t.deepEqual(s.ids('web'), ['http://127.0.0.1:1']);
    t.true(u.removed);
    t.true(u.draining);
    t.false(u.isAvailable());
    const picks = Array.from({ length: 6 }, () => web.pick({ clientIp: '192.0.2.1', url: '/', now: 0, random: () => 0.5 })?.id);
    t.deepEqual(picks, Array(6).fill('http://127.0.0.1:1'));
    t.deepEqual(s.events(), [{ kind: 'admin', level: 'info', message: 'removed two [cli]', pool: 'web', backend: 'http://127.0.0.1:2' }]);
  });
}

test('removeBackend of an unknown backend or pool is E_NOT_FOUND and changes nothing', (t) => {
  const s = setup(t);
  const before = s.state();
  const err = veloError(t, () => s.control.removeBackend('web', 'http://127.0.0.1:3'), 'E_NOT_FOUND', 404);
  t.is(err.message, 'no backend "http://127.0.0.1:3" in pool "web"');
  veloError(t, () => s.control.removeBackend('nope', 'two'), 'E_NOT_FOUND', 404);
  t.is(s.state(), before);
});

// ---- drain / undrain ----

test('drain takes a backend out of rotation; undrain puts it back; each change is one event', (t) => {
  const s = setup(t);
  const u = s.pool('web').upstreams[0]!;
  u.inFlight = 2;
  t.true(u.isAvailable());
  t.is(s.control.drain('web', 'http://127.0.0.1:1', 'dashboard'), u);
  t.true(u.draining);
  t.false(u.isAvailable());
  t.deepEqual(s.ids('web'), ['http://127.0.0.1:1', 'http://127.0.0.1:2'], 'a draining backend stays in the pool');
  s.control.drain('web', '127.0.0.1:1'); // by name, already draining: no second event
  t.is(s.control.undrain('web', u.id), u);
  t.false(u.draining);
  t.true(u.isAvailable());
  s.control.undrain('web', u.id);
  t.deepEqual(
    s.events().map((e) => e.message),
    ['draining 127.0.0.1:1 (2 in flight) [dashboard]', 'undrained 127.0.0.1:1 [api]'],
  );
  t.deepEqual(
    s.events().map((e) => [e.kind, e.pool, e.backend]),
    [
      ['admin', 'web', 'http://127.0.0.1:1'],
      ['admin', 'web', 'http://127.0.0.1:1'],
    ],
  );
});

test('drain of an unknown backend is E_NOT_FOUND', (t) => {
  const s = setup(t);
  veloError(t, () => s.control.drain('web', 'http://127.0.0.1:7'), 'E_NOT_FOUND', 404);
  veloError(t, () => s.control.undrain('web', 'http://127.0.0.1:7'), 'E_NOT_FOUND', 404);
  t.deepEqual(s.events(), []);
});

// ---- setWeight ----

test('setWeight changes the weight once and records one event', (t) => {
  const s = setup(t);
  const u = s.control.setWeight('web', 'two', 7);
  t.is(u.weight, 7);
  s.control.setWeight('web', 'two', 7);
  t.deepEqual(s.events().map((e) => e.message), ['weight of two set to 7; round-robin ignores weights, weighted-round-robin uses them [api]']);
});

for (const weight of [0, 1.5, 1001]) {
  test(`setWeight(${weight}) is E_BAD_REQUEST and changes nothing`, (t) => {
    const s = setup(t);
    const before = s.state();
    veloError(t, () => s.control.setWeight('web', 'two', weight), 'E_BAD_REQUEST', 400);
    t.is(s.state(), before);
    t.is(s.pool('web').upstreams[1]!.weight, 3);
  });
}

// ---- setStrategy ----

const ALIASES: Array<[string, StrategyName]> = [
  ['wrr', 'weighted-round-robin'],
  ['RR', 'round-robin'],
  ['least_connections', 'least-connections'],
  ['LeastConnections', 'least-connections'],
  ['leastconn', 'least-connections'],
  ['P2C', 'power-of-two'],
  ['ewma', 'least-latency'],
  ['ip-hash', 'ip-hash'],
];

for (const [input, canonical] of ALIASES) {
  test(`setStrategy(${JSON.stringify(input)}) selects ${canonical}`, (t) => {
    const s = setup(t);
    t.is(s.control.setStrategy('api', input), canonical);
    t.is(s.pool('api').strategyName, canonical);
    t.is(s.pool('api').strategy.name, canonical);
    const changed = canonical !== 'round-robin';
    t.deepEqual(s.events().map((e) => e.message), changed ? [`strategy set to ${canonical} [api]`] : []);
    t.is(s.pool('web').strategyName, 'round-robin', 'other pools keep theirs');
  });
}

test('setStrategy RR after wrr switches back to round-robin with one event each', (t) => {
  const s = setup(t);
  s.control.setStrategy('web', 'wrr');
  s.control.setStrategy('web', 'RR');
  s.control.setStrategy('web', 'round_robin');
  t.is(s.pool('web').strategyName, 'round-robin');
  t.deepEqual(s.events().map((e) => e.message), ['strategy set to weighted-round-robin [api]', 'strategy set to round-robin [api]']);
});

test('setStrategy with an unknown name is E_BAD_REQUEST listing the valid names, and changes nothing', (t) => {
  const s = setup(t);
  const before = s.state();
  const err = veloError(t, () => s.control.setStrategy('web', 'fastest'), 'E_BAD_REQUEST', 400);
  t.is(err.message, `unknown strategy "fastest" (valid: ${describeStrategies()})`);
  for (const name of ['round-robin (rr)', 'weighted-round-robin (wrr)', 'least-connections (lc, leastconn)', 'random', 'ip-hash', 'url-hash', 'power-of-two (p2c)', 'least-latency (ewma)']) {
    t.true(err.message.includes(name), name);
  }
  t.is(s.state(), before);
});

test('setStrategy on an unknown pool is E_NOT_FOUND', (t) => {
  const s = setup(t);
  veloError(t, () => s.control.setStrategy('nope', 'rr'), 'E_NOT_FOUND', 404);
});

// ---- reload ----

const NEXT = `
listen: { port: 8181 }
pools:
  - name: web
    strategy: least-connections
    backends:
      - { url: http://127.0.0.1:2, weight: 5, name: two }
      - http://127.0.0.1:4
  - name: admin
    match: { path_prefix: /admin }
    backends: [http://127.0.0.1:5]
`;

test('reload keeps unchanged backends as the same objects with their counters, detaches removed ones, adds new ones', async (t) => {
  const s = setup(t);
  const web = s.pool('web');
  const api = s.pool('api');
  const one = web.upstreams[0]!;
  const two = web.upstreams[1]!;
  const three = api.upstreams[0]!;
  two.counters.requests = 41;
  two.counters.status2xx = 40;
  s.control.reloader = async () => parseConfigText(NEXT, undefined);

  const result = await s.control.reload('signal');

  t.deepEqual(result, { added: 2, removed: 2, kept: 1, pools: 2, runtime: { kept: [], overridden: [] } });
  t.deepEqual(s.engine.pools.map((p) => p.name), ['web', 'admin']);
  t.is(s.pool('web'), web, 'the pool object is kept');
  t.deepEqual(s.ids('web'), ['http://127.0.0.1:2', 'http://127.0.0.1:4']);
  t.is(web.upstreams[0], two, 'the kept backend is the same Upstream');
  t.is(two.counters.requests, 41);
  t.is(two.counters.status2xx, 40);
  t.is(two.weight, 5, 'the new weight applies');
  t.false(two.removed);
  t.deepEqual([one.removed, one.draining], [true, true]);
  t.true(three.removed, 'backends of a pool that is gone are detached');
  t.deepEqual(s.ids('admin'), ['http://127.0.0.1:5']);
  t.is(web.strategyName, 'least-connections');
  t.is(s.engine.router.match('example.com', '/admin/x')?.name, 'admin');
  t.is(s.engine.router.match('example.com', '/api/x')?.name, 'web', 'the api pool no longer routes');
  t.is(s.engine.config.listen.port, 8080, 'the listen address of the running instance is kept');
  t.deepEqual(s.events().at(-1), {
    kind: 'reload',
    level: 'info',
    message: 'config reloaded by signal: 2 pools, +2 -2 backends, 1 kept',
    pool: undefined,
    backend: undefined,
  });
});

test('a reloader that throws a ConfigError leaves the pools unchanged and records an error event', async (t) => {
  const s = setup(t);
  const before = s.state();
  const pools = [...s.engine.pools];
  const upstreams = pools.map((p) => p.upstreams);
  let configError: ConfigError | undefined;
  try {
    parseConfigText('backends: [ftp://127.0.0.1:1]', 'velo.config.yaml');
  } catch (err) {
    configError = err as ConfigError;
  }
  t.true(configError instanceof ConfigError);
  s.control.reloader = async () => {
    throw configError;
  };

  const err = await t.throwsAsync(s.control.reload());
  t.is(err as unknown, configError);
  t.deepEqual(s.engine.pools, pools);
  t.deepEqual(
    s.engine.pools.map((p) => p.upstreams),
    upstreams,
  );
  t.true(upstreams.flat().every((u) => !u.removed && !u.draining));
  const events = s.events();
  t.is(events.length, 1);
  t.like(events[0], { kind: 'reload', level: 'error' });
  // The event line is the problem itself; the whole error is its detail (shown by `e`), never both in one view.
  t.regex(events[0]!.message, /^reload rejected, old config kept: velo\.config\.yaml:1:12 backends\[0\]: "ftp:\/\/127\.0\.0\.1:1" uses ftp:\/\//);
  t.is(s.engine.events.recent().at(-1)!.detail, configError!.message);
  t.is(JSON.stringify(JSON.parse(s.state()).pools), JSON.stringify(JSON.parse(before).pools));
});

test('reload without a config source is E_BAD_REQUEST, and says so in the event pane', async (t) => {
  const s = setup(t);
  const err = await t.throwsAsync(s.control.reload('dashboard'));
  t.true(err instanceof VeloError);
  t.is((err as VeloError).code, 'E_BAD_REQUEST');
  t.deepEqual(s.events().map((e) => [e.kind, e.level, e.message]), [
    ['reload', 'warn', 'reload requested by dashboard: nothing to reload: this instance was started without a config file'],
  ]);
});

test('reload applies a changed health_check.fall to backends that are kept', async (t) => {
  const s = setup(t, START, async () => ({ ok: false, durationMs: 1, detail: 'refused' }));
  s.control.reloader = async () =>
    parseConfigText(
      `
pools:
  - name: web
    health_check: { fall: 1 }
    backends:
      - http://127.0.0.1:1
      - { url: http://127.0.0.1:2, weight: 3, name: two }
  - name: api
    match: { path_prefix: /api }
    backends: [http://127.0.0.1:3]
`,
      undefined,
    );
  await s.control.reload();
  const web = s.pool('web');
  t.is(web.config.healthCheck.fall, 1);
  const kept = web.upstreams[0]!;
  kept.health.set('healthy');
  await s.engine.health.check(kept, web.config.healthCheck);
  t.is(kept.healthState, 'unhealthy', 'one failed check is enough with fall: 1');
});

test('applyConfig of an unchanged config keeps everything and reports every backend kept', (t) => {
  const s = setup(t);
  const before = s.engine.pools.flatMap((p) => p.upstreams);
  const result = s.control.applyConfig(parseConfigText(START, undefined) as VeloConfig);
  t.deepEqual(result, { added: 0, removed: 0, kept: 3, pools: 2 });
  t.deepEqual(s.engine.pools.flatMap((p) => p.upstreams), before);
});

// ---- runtime overlay ----

test('each runtime operation is one overlay entry; changing it back to the file\'s value removes it', (t) => {
  const s = setup(t);
  const diff = () => s.control.configDiff().map((d) => d.change);
  s.control.setWeight('web', 'two', 4);
  s.control.setStrategy('web', 'random');
  s.control.drain('api', 'http://127.0.0.1:3');
  s.control.setMaintenance('web', 'http://127.0.0.1:1', true);
  t.deepEqual(diff(), ['weight 4 on two in pool web', 'strategy random on pool web', 'drain on 127.0.0.1:3 in pool api', 'maintenance on 127.0.0.1:1 in pool web']);
  t.is(s.engine.sampler.tick().runtimeChanges, 4);
  s.control.setWeight('web', 'two', 3);
  s.control.setStrategy('web', 'round-robin');
  s.control.undrain('api', 'http://127.0.0.1:3');
  s.control.setMaintenance('web', 'http://127.0.0.1:1', false);
  t.deepEqual(diff(), []);
  s.control.addBackend('web', { url: 'http://127.0.0.1:9', weight: 2 });
  s.control.setWeight('web', 'http://127.0.0.1:9', 6);
  s.control.drain('web', 'http://127.0.0.1:9');
  t.deepEqual(s.control.configDiff(), [
    { pool: 'web', backend: 'http://127.0.0.1:9', name: '127.0.0.1:9', url: 'http://127.0.0.1:9', field: 'listed', runtime: { url: 'http://127.0.0.1:9', weight: 6, drain: true }, file: false, change: 'add of 127.0.0.1:9 to pool web' },
  ]);
  s.control.removeBackend('web', 'http://127.0.0.1:9');
  t.deepEqual(diff(), [], 'adding then removing a backend is no change');
  s.control.removeBackend('web', 'two');
  s.control.addBackend('web', { url: 'http://127.0.0.1:2', weight: 3 });
  t.deepEqual(diff(), [], 'removing then re-adding a listed backend with its weight is no change');
});

test('maintenance: out of rotation, state maint, an event; unknown backends are E_NOT_FOUND', (t) => {
  const s = setup(t);
  const u = s.control.setMaintenance('api', 'http://127.0.0.1:3', true, 'cli');
  t.true(u.maintenance);
  t.false(u.isUp());
  t.false(u.isAvailable());
  t.is(s.engine.sampler.tick().pools[1]!.backends[0]!.state, 'maint');
  t.is(s.events().at(-1)!.message, '127.0.0.1:3 in maintenance (0 in flight finish; checks continue) [cli]');
  veloError(t, () => s.control.setMaintenance('api', 'http://127.0.0.1:7', true), 'E_NOT_FOUND', 404);
});

test('a reload to one pool says "1 pool", and a rejected reload keeps every problem with its line:column in the event', async (t) => {
  const s = setup(t);
  s.control.reloader = async () => parseConfigText('pools:\n  - name: web\n    backends: [http://127.0.0.1:1]\n', undefined);
  await s.control.reload('api');
  t.regex(s.events().at(-1)!.message, /^config reloaded by api: 1 pool, /);
  const bad = ['pools:', '  - name: web', '    strategy: fastest', '    backends:', '      - ftp://127.0.0.1:1', '      - { url: http://127.0.0.1:2, weight: 0 }', '      - http://user:pw@127.0.0.1:3', ''].join('\n');
  let configError: ConfigError | undefined;
  try {
    parseConfigText(bad, 'velo.config.yaml');
  } catch (err) {
    configError = err as ConfigError;
  }
  t.true(configError instanceof ConfigError && configError.message.split('\n').length > 3, 'more problems than the summary line holds');
  s.control.reloader = async () => {
    throw configError;
  };
  await t.throwsAsync(s.control.reload('api'));
  const detail = s.engine.events.recent().at(-1)!.detail ?? '';
  for (const line of configError!.message.split('\n')) t.true(detail.includes(line), line);
  t.true((detail.match(/\d+:\d+/g) ?? []).length >= 3, detail);
});
