/**
 * The state that crosses from the control plane to a worker: the worker's replica backends end
 * up with the control plane's health, breaker, ejection, slow start and the other workers'
 * in-flight counts, whatever the two processes' monotonic clocks read.
 */
import test from 'ava';
import { LeastConnections } from '../../src/balancing/least-connections.js';
import { captureState, mirrorState } from '../../src/cluster/plane-state.js';
import { parseConfigText } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { Logger } from '../../src/log/logger.js';

const YAML = `health_check: { interval: 1s }
slow_start: 10s
circuit_breaker: { failure_threshold: 1, reset_timeout: 30s }
backends: [http://127.0.0.1:1, http://127.0.0.1:2, http://127.0.0.1:3]
`;

function engineAt(now: { t: number }, role?: 'worker') {
  return new Engine({ config: parseConfigText(YAML, undefined), logger: new Logger('silent'), sampleEveryMs: 0, clock: () => now.t, ...(role ? { role } : {}) });
}

test('a worker mirrors health, an open breaker with its time left, an ejection and a ramp, on its own clock', (t) => {
  const primaryClock = { t: 1_000_000 };
  const workerClock = { t: 5 };
  const primary = engineAt(primaryClock);
  const worker = engineAt(workerClock, 'worker');
  const [a, b, c] = primary.pools[0]!.upstreams;
  a!.health.set('healthy');
  b!.health.set('unhealthy');
  c!.health.set('healthy');
  a!.breaker.recordFailure(false); // opens (threshold 1) at 1_000_000
  primaryClock.t += 10_000; // 20 s of reset_timeout left
  c!.ejectedUntil = primaryClock.t + 7_000;
  c!.rampStartedAt = primaryClock.t - 4_000;
  c!.inFlight = 9;
  mirrorState(worker.pools, captureState(primary.pools, primaryClock.t, 1), workerClock.t, () => 4);
  const [wa, wb, wc] = worker.pools[0]!.upstreams;
  t.is(wa!.breaker.state, 'open');
  t.is(Math.round(wa!.breaker.retryAfterMs()), 20_000);
  t.is(wb!.health.state, 'unhealthy');
  t.true(wc!.isEjected());
  t.is(wc!.ejectedUntil - workerClock.t, 7_000);
  t.is(wc!.rampPercent(workerClock.t), 40);
  t.is(wc!.peerInFlight, 5, 'the aggregate 9 minus the 4 this worker reported');
  // The worker's clock runs on: the breaker turns half-open when the primary's would.
  workerClock.t += 20_000;
  t.is(wa!.breaker.state, 'half-open');
  t.false(wc!.isEjected());
});

test('least-connections compares the aggregate: a backend busy on other workers is not picked', (t) => {
  const worker = engineAt({ t: 1 }, 'worker');
  const [a, b] = worker.pools[0]!.upstreams;
  worker.pools[0]!.upstreams.forEach((u) => u.health.set('healthy'));
  worker.pools[0]!.upstreams = [a!, b!];
  a!.inFlight = 1; // here
  b!.inFlight = 0;
  b!.peerInFlight = 6; // on the other workers
  const picks = Array.from({ length: 4 }, () => new LeastConnections().pick([a!, b!], { clientIp: '1.1.1.1', url: '/', now: 1, random: () => 0 })?.id);
  t.deepEqual(picks, Array(4).fill(a!.id));
});
