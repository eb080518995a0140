import test, { type ExecutionContext } from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { Control } from '../../src/engine/control.js';
import { Engine } from '../../src/engine/engine.js';
import { Logger } from '../../src/log/logger.js';
import { EventLog, type EngineEvent } from '../../src/metrics/event-log.js';
import { LatencyWindow, quantile } from '../../src/metrics/latency-window.js';
import { backendState, Sampler } from '../../src/metrics/sampler.js';
import type { BackendState, EngineSnapshot } from '../../src/metrics/snapshot.js';
import { Pool } from '../../src/upstream/pool.js';
import type { Upstream } from '../../src/upstream/upstream.js';

const YAML = `
pools:
  - name: web
    backends: [http://127.0.0.1:1, http://127.0.0.1:2]
`;
const WALL = 1_700_000_000_000;

/** A sampler over one pool of two backends, on a settable clock. */
function setup(t: ExecutionContext, opts: { pools?: () => readonly Pool[] } = {}) {
  const clock = { now: 1000 };
  const pool = new Pool(parseConfigText(YAML, undefined).pools[0]!, { clock: () => clock.now });
  t.teardown(() => Promise.all(pool.upstreams.map((u) => u.destroy())));
  const totals = { requests: 0, success: 0, failed: 0, rejected: 0, retries: 0, rateLimited: 0, inFlight: 0 };
  const events = new EventLog(10, () => WALL + clock.now);
  const errors: unknown[] = [];
  const sampler = new Sampler(
    {
      version: '9.9.9',
      startedAt: WALL,
      pools: opts.pools ?? (() => [pool]),
      totals: () => totals,
      queueDepth: () => 4,
      base: () => ({ listen: { host: '127.0.0.1', port: 8080, tls: false }, admin: undefined, events: events.recent(), configSource: undefined, shuttingDown: false, runtimeChanges: 0 }),
      clock: () => clock.now,
      wallClock: () => WALL + clock.now,
    },
    (err) => errors.push(err),
  );
  const [a, b] = pool.upstreams as [Upstream, Upstream];
  for (const u of pool.upstreams) u.health.set('healthy');
  return { clock, pool, a, b, totals, events, sampler, errors };
}

// ---- rates ----

test('50 more requests in 500 ms is 100 rps, for the backend, the pool and the totals', (t) => {
  const s = setup(t);
  s.a.counters.requests += 50;
  s.totals.requests += 50;
  s.totals.failed += 5;
  s.clock.now += 500;
  const snap = s.sampler.tick();
  const web = snap.pools[0]!;
  t.deepEqual(
    web.backends.map((b) => [b.id, b.rps, b.requests]),
    [
      ['http://127.0.0.1:1', 100, 50],
      ['http://127.0.0.1:2', 0, 0],
    ],
  );
  t.is(web.rps, 100);
  t.is(snap.totals.rps, 100);
  t.is(snap.totals.errorRate, 0.1);
  t.is(snap.totals.requests, 50);
  t.is(snap.uptimeMs, 1500);
  t.is(snap.takenAt, WALL + 1500);
});

test('rates are per tick and the history keeps one value per tick, oldest first', (t) => {
  const s = setup(t);
  const steps: Array<[requests: number, ms: number]> = [
    [50, 500],
    [25, 250],
    [0, 250],
    [3, 1000],
    [1, 300],
  ];
  for (const [n, ms] of steps) {
    s.a.counters.requests += n;
    s.totals.requests += n;
    s.clock.now += ms;
    s.sampler.tick();
  }
  const snap = s.sampler.snapshot;
  // 1 request in 300 ms is 3.33 rps, rounded to one decimal.
  t.deepEqual(snap.pools[0]!.backends[0]!.rpsHistory, [100, 100, 0, 3, 3.3]);
  t.is(snap.pools[0]!.backends[0]!.rps, 3.3);
  t.deepEqual(snap.rpsHistory, [0, 100, 100, 0, 3, 3.3], 'the construction tick counts for the totals');
  t.deepEqual(snap.pools[0]!.backends[1]!.rpsHistory, [0, 0, 0, 0, 0]);
});

test('two ticks at the same instant report 0 rps, not a division by zero', (t) => {
  const s = setup(t);
  s.a.counters.requests += 10;
  s.totals.requests += 10;
  const snap = s.sampler.tick();
  t.is(snap.pools[0]!.backends[0]!.rps, 0);
  t.is(snap.totals.rps, 0);
});

test('the history is capped at the last 60 ticks', (t) => {
  const s = setup(t);
  for (let i = 1; i <= 70; i++) {
    s.a.counters.requests += i;
    s.clock.now += 1000;
    s.sampler.tick();
  }
  const history = s.sampler.snapshot.pools[0]!.backends[0]!.rpsHistory;
  t.is(history.length, 60);
  t.deepEqual([history[0], history.at(-1)], [11, 70]);
});

// ---- latency ----

test('p50 and p99 come from the recorded latencies (nearest rank): 1..100 ms -> p50 50, p99 99', (t) => {
  const s = setup(t);
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  // Record out of order: the sampler must sort.
  for (const ms of [...values.filter((v) => v % 2 === 0).reverse(), ...values.filter((v) => v % 2 === 1)]) s.a.recordAttempt(200, ms, false);
  const backend = s.sampler.tick().pools[0]!.backends[0]!;
  t.deepEqual([backend.p50Ms, backend.p99Ms], [50, 99]);
  t.deepEqual(backend.status, { '2xx': 100, '3xx': 0, '4xx': 0, '5xx': 0 });
  const other = s.sampler.snapshot.pools[0]!.backends[1]!;
  t.deepEqual([other.p50Ms, other.p99Ms], [0, 0], 'no samples: zeros');
});

test('latencies are rounded to 0.01 ms and attempts without a response add no latency', (t) => {
  const s = setup(t);
  s.a.recordAttempt(200, 1.234567, false);
  s.a.recordAttempt(0, 5000, true);
  const backend = s.sampler.tick().pools[0]!.backends[0]!;
  t.deepEqual([backend.p50Ms, backend.p99Ms, backend.requests, backend.failures], [1.23, 1.23, 2, 1]);
});

const QUANTILES: Array<[number[], number, number]> = [
  [Array.from({ length: 100 }, (_, i) => i + 1), 0.5, 50],
  [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
  [Array.from({ length: 100 }, (_, i) => i + 1), 1, 100],
  [Array.from({ length: 100 }, (_, i) => i + 1), 0, 1],
  [Array.from({ length: 10 }, (_, i) => i + 1), 0.99, 10],
  [Array.from({ length: 10 }, (_, i) => i + 1), 0.5, 5],
  [[1, 2], 0.5, 1],
  [[7], 0.99, 7],
  [[], 0.5, 0],
];

for (const [sorted, q, expected] of QUANTILES) {
  test(`quantile(${sorted.length <= 2 ? JSON.stringify(sorted) : `1..${sorted.length}`}, ${q}) is ${expected}`, (t) => {
    t.is(quantile(sorted, q), expected);
  });
}

test('LatencyWindow counts only samples within the window (inclusive of its start)', (t) => {
  const clock = { now: 0 };
  const w = new LatencyWindow(() => clock.now);
  w.record(100);
  clock.now = 5000;
  w.record(10);
  clock.now = 10_000;
  t.deepEqual(w.summarize(10_000), { p50: 10, p99: 100, count: 2 });
  clock.now = 10_001;
  t.deepEqual(w.summarize(10_000), { p50: 10, p99: 10, count: 1 });
  clock.now = 15_001;
  t.deepEqual(w.summarize(10_000), { p50: 0, p99: 0, count: 0 });
});

test('LatencyWindow keeps the most recent 2048 samples', (t) => {
  const w = new LatencyWindow(() => 0);
  for (let ms = 1; ms <= 3000; ms++) w.record(ms);
  // Samples 953..3000 remain: ranks 1024 and 2028 of 2048.
  t.deepEqual(w.summarize(1000), { p50: 1976, p99: 2980, count: 2048 });
});

// ---- frozen snapshots ----

test('the snapshot and everything in it is frozen', (t) => {
  const s = setup(t);
  s.a.recordAttempt(200, 3, false);
  s.a.lastCheck = { at: WALL, ok: true, durationMs: 2 };
  s.events.add({ kind: 'admin', level: 'info', message: 'hello' });
  s.clock.now += 250;
  const snap = s.sampler.tick();
  const pool = snap.pools[0]!;
  const backend = pool.backends[0]!;
  const parts: Array<[string, unknown]> = [
    ['snapshot', snap],
    ['pools', snap.pools],
    ['pool', pool],
    ['pool.match', pool.match],
    ['backends', pool.backends],
    ['backend', backend],
    ['backend.status', backend.status],
    ['backend.rpsHistory', backend.rpsHistory],
    ['backend.lastCheck', backend.lastCheck],
    ['totals', snap.totals],
    ['rpsHistory', snap.rpsHistory],
    ['events[0]', snap.events[0]],
  ];
  t.deepEqual(parts.filter(([, v]) => !Object.isFrozen(v)).map(([name]) => name), []);
  t.throws(() => {
    (snap.totals as { requests: number }).requests = 1;
  }, { instanceOf: TypeError });
});

test('a later tick does not change an earlier snapshot', (t) => {
  const s = setup(t);
  s.a.counters.requests = 10;
  s.clock.now += 1000;
  const first = s.sampler.tick();
  s.a.counters.requests = 30;
  s.a.draining = true;
  s.clock.now += 1000;
  const second = s.sampler.tick();
  t.not(first, second);
  t.deepEqual([first.pools[0]!.backends[0]!.requests, first.pools[0]!.backends[0]!.state, first.pools[0]!.backends[0]!.rpsHistory], [10, 'healthy', [10]]);
  t.deepEqual([second.pools[0]!.backends[0]!.requests, second.pools[0]!.backends[0]!.state, second.pools[0]!.backends[0]!.rpsHistory], [30, 'draining', [10, 20]]);
});

// ---- backend state words ----

const STATES: Array<[string, (u: Upstream, clock: { now: number }) => void, BackendState]> = [
  ['healthy', () => {}, 'healthy'],
  ['not checked yet', (u) => u.health.set('unknown'), 'unknown'],
  ['failed its health checks', (u) => u.health.set('unhealthy'), 'unhealthy'],
  ['breaker open', (u) => openBreaker(u), 'down'],
  ['breaker half-open', (u, clock) => { openBreaker(u); clock.now += 30_000; }, 'healthy'],
  ['ejected by outlier detection', (u, clock) => { u.ejectedUntil = clock.now + 1; }, 'down'],
  ['ejection over', (u, clock) => { u.ejectedUntil = clock.now; }, 'healthy'],
  ['draining', (u) => { u.draining = true; }, 'draining'],
  ['draining and unhealthy', (u) => { u.draining = true; u.health.set('unhealthy'); }, 'draining'],
  ['draining and breaker open', (u) => { u.draining = true; openBreaker(u); }, 'draining'],
  ['unhealthy and breaker open', (u) => { u.health.set('unhealthy'); openBreaker(u); }, 'unhealthy'],
  ['unknown and breaker open', (u) => { u.health.set('unknown'); openBreaker(u); }, 'down'],
];

function openBreaker(u: Upstream): void {
  // Default failure_threshold is 5.
  for (let i = 0; i < 5; i++) u.breaker.recordFailure(u.breaker.onDispatch());
}

for (const [title, arrange, expected] of STATES) {
  test(`backend state: ${title} -> ${expected}`, (t) => {
    const s = setup(t);
    arrange(s.a, s.clock);
    t.is(backendState(s.a), expected);
    const snap = s.sampler.tick();
    t.is(snap.pools[0]!.backends[0]!.state, expected);
    t.is(snap.pools[0]!.backends[1]!.state, 'healthy');
  });
}

test('healthyCount counts the backends that may take a request; queueDepth comes from the source', (t) => {
  const s = setup(t);
  t.is(s.sampler.tick().pools[0]!.healthyCount, 2);
  s.a.draining = true;
  t.is(s.sampler.tick().pools[0]!.healthyCount, 1);
  openBreaker(s.b);
  const pool = s.sampler.tick().pools[0]!;
  t.deepEqual([pool.healthyCount, pool.queueDepth, pool.name, pool.strategy], [0, 4, 'web', 'round-robin']);
});

// ---- publishing ----

test('subscribers receive every new snapshot until they unsubscribe', (t) => {
  const s = setup(t);
  const seen: EngineSnapshot[] = [];
  const unsubscribe = s.sampler.subscribe((snap) => seen.push(snap));
  const first = s.sampler.tick();
  const second = s.sampler.tick();
  unsubscribe();
  s.sampler.tick();
  t.deepEqual(seen, [first, second]);
  t.is(seen[1], second);
});

test('a failing build is reported, never thrown, and the previous snapshot stays', (t) => {
  let fail = false;
  const s = setup(t, {
    pools: () => {
      if (fail) throw new Error('broken pool list');
      return [];
    },
  });
  const before = s.sampler.snapshot;
  fail = true;
  const after = s.sampler.tick();
  t.is(after, before);
  t.is(s.sampler.snapshot, before);
  t.deepEqual(s.errors.map((e) => (e as Error).message), ['broken pool list']);
});

test('through a real Engine: admin events and backends reach the snapshot', async (t) => {
  const clock = { now: 0 };
  const engine = new Engine({
    config: parseConfigText(YAML, undefined),
    sampleEveryMs: 0,
    logger: new Logger('silent'),
    clock: () => clock.now,
    wallClock: () => WALL + clock.now,
  });
  t.teardown(() => engine.stop());
  new Control(engine).drain('web', 'http://127.0.0.1:2', 'cli');
  const snap = engine.sampler.tick();
  t.is(engine.snapshot, snap);
  t.deepEqual(snap.pools[0]!.backends.map((b) => [b.id, b.state]), [
    ['http://127.0.0.1:1', 'unknown'],
    ['http://127.0.0.1:2', 'draining'],
  ]);
  t.deepEqual(snap.events.map((e) => e.message), ['draining 127.0.0.1:2 (0 in flight) [cli]']);
  t.like(snap, { shuttingDown: false, listen: { host: '0.0.0.0', port: 8080, tls: false } });
});

// ---- event log ----

const add = (log: EventLog, message: string): EngineEvent => log.add({ kind: 'admin', level: 'info', message });

test('the event log keeps the newest `capacity` events, oldest first, with increasing seq', (t) => {
  const log = new EventLog(3, () => WALL);
  for (const m of ['a', 'b', 'c', 'd', 'e']) add(log, m);
  t.deepEqual(log.recent().map((e) => [e.seq, e.message]), [
    [3, 'c'],
    [4, 'd'],
    [5, 'e'],
  ]);
  t.deepEqual(log.recent(2).map((e) => e.message), ['d', 'e']);
  t.deepEqual(log.recent(10).map((e) => e.message), ['c', 'd', 'e']);
});

test('the event log defaults to 200 events', (t) => {
  const log = new EventLog();
  for (let i = 1; i <= 250; i++) add(log, `m${i}`);
  const recent = log.recent();
  t.is(recent.length, 200);
  t.deepEqual([recent[0]!.seq, recent.at(-1)!.seq], [51, 250]);
});

test('events are frozen and stamped with the wall clock', (t) => {
  const clock = { now: WALL };
  const log = new EventLog(5, () => clock.now);
  const e = log.add({ kind: 'health', level: 'warn', message: 'x is now unhealthy', pool: 'web', backend: 'http://x' });
  clock.now += 42;
  const f = add(log, 'later');
  t.deepEqual(e, { kind: 'health', level: 'warn', message: 'x is now unhealthy', pool: 'web', backend: 'http://x', seq: 1, at: WALL });
  t.is(f.at, WALL + 42);
  t.true(Object.isFrozen(e));
});

test('event log subscribers get each event until they unsubscribe', (t) => {
  const log = new EventLog(5);
  const seen: string[] = [];
  const unsubscribe = log.subscribe((e) => seen.push(e.message));
  add(log, 'one');
  add(log, 'two');
  unsubscribe();
  add(log, 'three');
  t.deepEqual(seen, ['one', 'two']);
});
