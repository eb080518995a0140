import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { parseConfigText } from '../../src/config/load.js';
import type { HealthCheckConfig } from '../../src/config/types.js';
import { HealthChecker, networkProbe, type Probe, type ProbeResult } from '../../src/health/active-check.js';
import type { HealthState } from '../../src/health/hysteresis.js';
import { Upstream } from '../../src/upstream/upstream.js';
import { FakeTimers } from './fake-timers.js';

// Pool defaults: rise 2, fall 3.
const poolConfig = parseConfigText('backends: [http://127.0.0.1:1]', undefined).pools[0]!;
const WALL_EPOCH = 1_700_000_000_000;

function makeUpstream(t: ExecutionContext, url = 'http://127.0.0.1:1'): Upstream {
  const u = new Upstream(url, { url, weight: 1 }, poolConfig, { clock: () => 0 });
  t.teardown(() => u.destroy());
  return u;
}

function checkConfig(over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return { ...poolConfig.healthCheck, intervalMs: 1000, jitter: 0, ...over };
}

/** mulberry32: a deterministic uniform [0, 1) source. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Transition {
  id: string;
  from: HealthState;
  to: HealthState;
  result: ProbeResult;
  /** Probes started when the transition was reported. */
  afterProbes: number;
}

/** A checker on a virtual clock whose probe records the virtual time of every call. */
function harness(t: ExecutionContext, opts: { probe?: Probe; probeOn?: (timers: FakeTimers) => Probe; random?: () => number } = {}) {
  const timers = new FakeTimers();
  const starts: Array<{ id: string; at: number }> = [];
  const transitions: Transition[] = [];
  // `probeOn` builds a probe that needs the virtual clock (one that takes time).
  const inner: Probe = opts.probeOn?.(timers) ?? opts.probe ?? (async () => ({ ok: true, durationMs: 1 }));
  const probe: Probe = (u, cfg) => {
    starts.push({ id: u.id, at: timers.now });
    return inner(u, cfg);
  };
  const checker = new HealthChecker({
    clock: timers.clock,
    wallClock: () => WALL_EPOCH + timers.now,
    random: opts.random ?? (() => 0.5),
    timers,
    probe,
    onTransition: (u, from, to, result) => transitions.push({ id: u.id, from, to, result, afterProbes: starts.length }),
  });
  t.teardown(() => checker.stop());
  const startsOf = (id: string): number[] => starts.filter((s) => s.id === id).map((s) => s.at);
  return { timers, checker, starts, startsOf, transitions };
}

/** A probe that answers `result` after `ms` of virtual time. */
function slowProbe(timers: FakeTimers, ms: number, result: ProbeResult = { ok: true, durationMs: ms }): Probe {
  return () => new Promise((resolve) => timers.setTimeout(() => resolve(result), ms));
}

const grid = (count: number, step: number, from = 0): number[] => Array.from({ length: count }, (_, i) => from + i * step);

test('the first probe runs at start with delay 0, the next one interval later', async (t) => {
  const h = harness(t);
  h.timers.now = 500;
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig());
  t.deepEqual(h.timers.delays, [0]);
  t.is(h.starts.length, 0, 'the probe is scheduled, not run inside watch()');
  await h.timers.advance(0);
  t.deepEqual(h.startsOf(u.id), [500]);
  await h.timers.advance(999);
  t.deepEqual(h.startsOf(u.id), [500]);
  await h.timers.advance(1);
  t.deepEqual(h.startsOf(u.id), [500, 1500]);
  t.is(h.checker.watching, 1);
});

test('with jitter 0 probes stay exactly on the 1000 ms grid for 5000 cycles, even when each probe takes 37 ms', async (t) => {
  const h = harness(t, { probeOn: (timers) => slowProbe(timers, 37) });
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig({ intervalMs: 1000, jitter: 0 }));
  await h.timers.advance(4_999_000 + 37);
  const starts = h.startsOf(u.id);
  t.is(starts.length, 5000);
  t.deepEqual(starts, grid(5000, 1000));
});

test('with jitter 0.1 each probe is within ±10% of its grid slot and the mean interval over 2000 cycles is within 1% of 1000 ms', async (t) => {
  const source = seededRandom(42);
  const draws: number[] = [];
  const random = (): number => {
    const r = source();
    draws.push(r);
    return r;
  };
  const h = harness(t, { random });
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig({ intervalMs: 1000, jitter: 0.1 }));
  await h.timers.advance(1_999_000 + 100);
  const starts = h.startsOf(u.id);
  t.is(starts.length, 2000);
  t.is(starts[0], 0, 'the first probe is not jittered');
  const offsets = starts.map((at, k) => at - k * 1000);
  for (let k = 1; k < starts.length; k++) {
    // The k-th draw spreads the k-th probe by interval * jitter * (2r - 1) around its slot.
    const expected = 1000 * 0.1 * (2 * draws[k - 1]! - 1);
    if (Math.abs(offsets[k]! - expected) > 1e-6) t.fail(`probe ${k} at ${starts[k]}, expected ${k * 1000 + expected}`);
    if (Math.abs(offsets[k]!) > 100 + 1e-9) t.fail(`probe ${k} is ${offsets[k]} ms off its slot`);
  }
  const gaps = starts.slice(1).map((at, k) => at - starts[k]!);
  t.true(Math.min(...gaps) >= 800 && Math.max(...gaps) <= 1200, 'consecutive probes are 1000 ms ± twice the spread apart');
  t.true(Math.min(...offsets) < -90 && Math.max(...offsets) > 90, 'the spread is actually used in both directions');
  const mean = (starts.at(-1)! - starts[0]!) / (starts.length - 1);
  t.true(Math.abs(mean - 1000) <= 10, `mean interval ${mean}`);
});

test('a probe that never resolves for backend A does not delay backend B', async (t) => {
  const h = harness(t, {
    probe: (u) => (u.id.endsWith(':1') ? new Promise<ProbeResult>(() => {}) : Promise.resolve({ ok: true, durationMs: 1 })),
  });
  const a = makeUpstream(t, 'http://127.0.0.1:1');
  const b = makeUpstream(t, 'http://127.0.0.1:2');
  h.checker.watch(a, () => checkConfig());
  h.checker.watch(b, () => checkConfig());
  await h.timers.advance(10_000);
  t.deepEqual(h.startsOf(b.id), grid(11, 1000));
  t.deepEqual(h.startsOf(a.id), [0]);
});

const SLOW_CASES: Array<[probeMs: number, starts: number[]]> = [
  [0, grid(9, 1000)],
  [999, grid(9, 1000)],
  [1000, grid(9, 1000)],
  [1200, [0, 2000, 4000, 6000, 8000]],
  [2500, [0, 3000, 6000]],
];

for (const [probeMs, expected] of SLOW_CASES) {
  test(`a probe taking ${probeMs} ms with interval 1000 runs at ${expected.join(', ')} (skips slots, never bursts)`, async (t) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const h = harness(t, {
      probeOn: (timers) => async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => timers.setTimeout(resolve, probeMs));
        inFlight -= 1;
        return { ok: true, durationMs: probeMs };
      },
    });
    h.checker.watch(makeUpstream(t), () => checkConfig());
    await h.timers.advance(8000);
    t.deepEqual(h.starts.map((s) => s.at), expected);
    t.is(maxInFlight, 1);
  });
}

test('each health transition is reported exactly once (fall=3, rise=2)', async (t) => {
  // P F F F F F P P, then passes forever.
  const script = [true, false, false, false, false, false, true, true];
  let n = 0;
  const h = harness(t, {
    probe: async () => {
      const ok = script[n] ?? true;
      n += 1;
      return { ok, durationMs: 3, detail: ok ? undefined : `probe ${n} failed` };
    },
  });
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig());
  await h.timers.advance(7000);
  t.is(h.starts.length, 8);
  t.deepEqual(
    h.transitions.map((x) => [x.from, x.to, x.afterProbes]),
    [
      ['unknown', 'healthy', 1],
      ['healthy', 'unhealthy', 4],
      ['unhealthy', 'healthy', 8],
    ],
  );
  t.deepEqual(h.transitions[1]!.result, { ok: false, durationMs: 3, detail: 'probe 4 failed' });
  t.is(u.healthState, 'healthy');
  await h.timers.advance(20_000);
  t.is(h.starts.length, 28);
  t.is(h.transitions.length, 3, 'passes while healthy report nothing');
  t.deepEqual(u.lastCheck, { at: WALL_EPOCH + 27_000, ok: true, durationMs: 3, detail: undefined });
});

test('further failures after going down report no more events', async (t) => {
  const h = harness(t, { probe: async () => ({ ok: false, durationMs: 1, detail: 'down' }) });
  const u = makeUpstream(t);
  u.health.set('healthy');
  h.checker.watch(u, () => checkConfig());
  await h.timers.advance(20_000);
  t.is(h.starts.length, 21);
  t.deepEqual(
    h.transitions.map((x) => [x.from, x.to, x.afterProbes]),
    [['healthy', 'unhealthy', 3]],
  );
});

test('unwatch stops the probes and leaves no timer behind', async (t) => {
  const h = harness(t);
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig());
  await h.timers.advance(2500);
  t.deepEqual(h.startsOf(u.id), [0, 1000, 2000]);
  h.checker.unwatch(u);
  t.is(h.checker.watching, 0);
  t.is(h.timers.pending, 0);
  await h.timers.advance(10_000);
  t.deepEqual(h.startsOf(u.id), [0, 1000, 2000]);
});

test('unwatch while a probe is in flight: the probe finishes but nothing is rescheduled', async (t) => {
  const h = harness(t, { probeOn: (timers) => slowProbe(timers, 500) });
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig());
  await h.timers.advance(1200);
  t.deepEqual(h.startsOf(u.id), [0, 1000]);
  h.checker.unwatch(u);
  await h.timers.advance(10_000);
  t.deepEqual(h.startsOf(u.id), [0, 1000]);
  t.is(h.timers.pending, 0);
});

test('stop() unwatches every backend', async (t) => {
  const h = harness(t);
  const a = makeUpstream(t, 'http://127.0.0.1:1');
  const b = makeUpstream(t, 'http://127.0.0.1:2');
  h.checker.watch(a, () => checkConfig());
  h.checker.watch(b, () => checkConfig());
  await h.timers.advance(1000);
  t.is(h.starts.length, 4);
  h.checker.stop();
  t.is(h.checker.watching, 0);
  await h.timers.advance(5000);
  t.is(h.starts.length, 4);
});

test('watching the same backend twice does not double its probes', async (t) => {
  const h = harness(t);
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig());
  h.checker.watch(u, () => checkConfig());
  await h.timers.advance(3000);
  t.deepEqual(h.startsOf(u.id), [0, 1000, 2000, 3000]);
  t.is(h.checker.watching, 1);
});

test('a backend whose health check is disabled is not probed', async (t) => {
  const h = harness(t);
  const u = makeUpstream(t);
  h.checker.watch(u, () => checkConfig({ enabled: false }));
  await h.timers.advance(5000);
  t.is(h.starts.length, 0);
  t.is(h.checker.watching, 0);
});

const THROWERS: Array<[string, Probe, string]> = [
  ['rejects with an Error', async () => Promise.reject(new Error('socket hang up')), 'socket hang up'],
  [
    'throws synchronously',
    () => {
      throw new Error('sync failure');
    },
    'sync failure',
  ],
  ['rejects with a string', async () => Promise.reject('boom'), 'boom'],
];

for (const [how, probe, detail] of THROWERS) {
  test(`a probe that ${how} counts as a failure and the schedule goes on`, async (t) => {
    const h = harness(t, { probe });
    const u = makeUpstream(t);
    h.checker.watch(u, () => checkConfig());
    await h.timers.advance(2000);
    t.deepEqual(h.startsOf(u.id), [0, 1000, 2000]);
    t.deepEqual(
      h.transitions.map((x) => [x.from, x.to, x.result]),
      [['unknown', 'unhealthy', { ok: false, durationMs: 0, detail }]],
    );
    t.deepEqual(u.lastCheck, { at: WALL_EPOCH + 2000, ok: false, durationMs: 0, detail });
  });
}

test('check() never rejects, even when the probe throws', async (t) => {
  const h = harness(t, {
    probe: () => {
      throw new TypeError('bad');
    },
  });
  const result = await h.checker.check(makeUpstream(t), checkConfig());
  t.deepEqual(result, { ok: false, durationMs: 0, detail: 'bad' });
});

// ---- networkProbe against real sockets on port 0 ----

async function httpServer(t: ExecutionContext, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

async function tcpServer(t: ExecutionContext): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

const portOf = (server: net.Server): number => (server.address() as AddressInfo).port;

test('networkProbe http: 200 from the health path is ok', async (t) => {
  const seen: Array<{ method?: string; url?: string; ua?: string }> = [];
  const port = await httpServer(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, ua: req.headers['user-agent'] });
    res.end('ok');
  });
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${port}`), checkConfig({ path: '/healthz', timeoutMs: 2000 }));
  t.true(result.ok);
  t.is(result.detail, undefined);
  t.true(result.durationMs >= 0 && result.durationMs < 2000);
  t.deepEqual(seen, [{ method: 'GET', url: '/healthz', ua: 'velo-health-check' }]);
});

test('networkProbe http: 503 is not ok, with detail "status 503"', async (t) => {
  const port = await httpServer(t, (_req, res) => {
    res.statusCode = 503;
    res.end('busy');
  });
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${port}`), checkConfig({ timeoutMs: 2000 }));
  t.false(result.ok);
  t.is(result.detail, 'status 503');
});

test('networkProbe http: a server that never answers times out within timeoutMs', async (t) => {
  const port = await httpServer(t, () => {
    // Never answers.
  });
  const started = performance.now();
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${port}`), checkConfig({ timeoutMs: 200 }));
  const elapsed = performance.now() - started;
  t.false(result.ok);
  t.is(result.detail, 'timeout after 200ms');
  t.true(elapsed >= 150, `gave up after ${elapsed} ms`);
  t.true(elapsed < 200 + 1000, `gave up after ${elapsed} ms`);
});

const STATUS_CASES: Array<[status: number, ok: boolean]> = [
  [200, true],
  [204, true],
  [299, false],
  [301, true],
  [302, true],
  [304, false],
  [404, false],
  [418, true],
];

test('networkProbe http: custom expect_status ranges [[200,204],[301,302],[418,418]]', async (t) => {
  const port = await httpServer(t, (req, res) => {
    res.statusCode = Number(req.url!.slice('/status/'.length));
    res.end();
  });
  const u = makeUpstream(t, `http://127.0.0.1:${port}`);
  const expectStatus: Array<[number, number]> = [
    [200, 204],
    [301, 302],
    [418, 418],
  ];
  for (const [status, ok] of STATUS_CASES) {
    const result = await networkProbe(u, checkConfig({ path: `/status/${status}`, expectStatus, timeoutMs: 2000 }));
    t.is(result.ok, ok, `status ${status}`);
    t.is(result.detail, ok ? undefined : `status ${status}`, `status ${status}`);
  }
});

test('networkProbe tcp: a listening port is ok', async (t) => {
  const server = await tcpServer(t);
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${portOf(server)}`), checkConfig({ type: 'tcp', timeoutMs: 2000 }));
  t.deepEqual([result.ok, result.detail], [true, undefined]);
});

test('networkProbe tcp: a closed port is not ok (connection refused)', async (t) => {
  // A low port nothing listens on (a freed port-0 port could go to a parallel test's server).
  const port = 1;
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${port}`), checkConfig({ type: 'tcp', timeoutMs: 2000 }));
  t.false(result.ok);
  t.regex(result.detail ?? '', /ECONNREFUSED/);
});

test('networkProbe http: a closed port is not ok with detail ECONNREFUSED', async (t) => {
  // A low port nothing listens on (a freed port-0 port could go to a parallel test's server).
  const port = 1;
  const result = await networkProbe(makeUpstream(t, `http://127.0.0.1:${port}`), checkConfig({ timeoutMs: 2000 }));
  t.false(result.ok);
  t.is(result.detail, 'ECONNREFUSED');
});
