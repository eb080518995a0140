import test from 'ava';
import type { CircuitBreakerConfig } from '../../src/config/types.js';
import { CIRCUIT_STATE_VALUE, CircuitBreaker, type CircuitState } from '../../src/resilience/circuit-breaker.js';

const CONFIG: CircuitBreakerConfig = {
  enabled: true,
  failureThreshold: 3,
  resetTimeoutMs: 1000,
  halfOpenRequests: 2,
  countHttp5xx: false,
};

/** A breaker on a settable clock that records every transition. */
function breaker(over: Partial<CircuitBreakerConfig> = {}) {
  const clock = { now: 10_000 };
  const b = new CircuitBreaker({ ...CONFIG, ...over }, () => clock.now);
  const transitions: Array<[CircuitState, CircuitState]> = [];
  b.onTransition = (from, to) => transitions.push([from, to]);
  /** Records `n` failures of ordinary (non-probe) requests. */
  const fail = (n: number): void => {
    for (let i = 0; i < n; i++) b.recordFailure(b.onDispatch());
  };
  return { b, clock, transitions, fail };
}

/** Opens the breaker and lets the reset timeout pass, so it reads as half-open. */
function halfOpen(over: Partial<CircuitBreakerConfig> = {}) {
  const h = breaker(over);
  const config = { ...CONFIG, ...over };
  h.fail(config.failureThreshold);
  h.clock.now += config.resetTimeoutMs;
  return h;
}

test('closed -> open after exactly failureThreshold consecutive failures', (t) => {
  const { b, transitions, fail } = breaker();
  fail(2);
  t.is(b.state, 'closed');
  t.true(b.allowsRequest());
  t.is(b.failures, 2);
  fail(1);
  t.is(b.state, 'open');
  t.false(b.allowsRequest());
  t.deepEqual(transitions, [['closed', 'open']]);
});

test('a success resets the consecutive failure count', (t) => {
  const { b, fail } = breaker();
  fail(2);
  b.recordSuccess(b.onDispatch());
  t.is(b.failures, 0);
  fail(2);
  t.is(b.state, 'closed');
  fail(1);
  t.is(b.state, 'open');
});

test('open -> half-open exactly when resetTimeoutMs has passed, reported once', (t) => {
  const { b, clock, transitions, fail } = breaker();
  fail(3);
  t.is(b.retryAfterMs(), 1000);
  clock.now += 600;
  t.is(b.retryAfterMs(), 400);
  clock.now += 399;
  t.is(b.state, 'open');
  t.false(b.allowsRequest());
  t.is(b.retryAfterMs(), 1);
  clock.now += 1;
  t.is(b.state, 'half-open');
  t.is(b.state, 'half-open');
  t.true(b.allowsRequest());
  t.is(b.retryAfterMs(), 0);
  t.deepEqual(transitions, [
    ['closed', 'open'],
    ['open', 'half-open'],
  ]);
});

test('half-open lets at most halfOpenRequests concurrent probes through', (t) => {
  const { b } = halfOpen({ halfOpenRequests: 2 });
  t.true(b.allowsRequest());
  t.true(b.onDispatch(), 'first request is a probe');
  t.true(b.allowsRequest());
  t.true(b.onDispatch(), 'second request is a probe');
  t.false(b.allowsRequest(), 'no third concurrent probe');
});

test('halfOpenRequests successes close the breaker; one is not enough', (t) => {
  const { b, transitions } = halfOpen({ halfOpenRequests: 2 });
  const p1 = b.onDispatch();
  const p2 = b.onDispatch();
  b.recordSuccess(p1);
  t.is(b.state, 'half-open');
  b.recordSuccess(p2);
  t.is(b.state, 'closed');
  t.true(b.allowsRequest());
  t.is(b.onDispatch(), false, 'requests are not probes once closed');
  t.deepEqual(transitions, [
    ['closed', 'open'],
    ['open', 'half-open'],
    ['half-open', 'closed'],
  ]);
});

test('after closing, it takes failureThreshold fresh failures to open again', (t) => {
  const { b, fail } = halfOpen({ halfOpenRequests: 1 });
  b.recordSuccess(b.onDispatch());
  t.is(b.state, 'closed');
  fail(2);
  t.is(b.state, 'closed');
  fail(1);
  t.is(b.state, 'open');
});

test('a failure while half-open reopens at once and restarts the reset timer', (t) => {
  const { b, clock, transitions } = halfOpen({ halfOpenRequests: 2 });
  const p1 = b.onDispatch();
  b.onDispatch();
  clock.now += 500;
  b.recordFailure(p1);
  t.is(b.state, 'open');
  t.false(b.allowsRequest());
  t.is(b.retryAfterMs(), 1000, 'the timer restarts from the failure, not from the first opening');
  clock.now += 999;
  t.is(b.state, 'open');
  clock.now += 1;
  t.is(b.state, 'half-open');
  t.true(b.allowsRequest(), 'the probe slots are free again after reopening');
  t.deepEqual(transitions, [
    ['closed', 'open'],
    ['open', 'half-open'],
    ['half-open', 'open'],
    ['open', 'half-open'],
  ]);
});

test('a probe success followed by a probe failure still reopens', (t) => {
  const { b } = halfOpen({ halfOpenRequests: 2 });
  const p1 = b.onDispatch();
  const p2 = b.onDispatch();
  b.recordSuccess(p1);
  b.recordFailure(p2);
  t.is(b.state, 'open');
});

test('recordNeutral (client abort) frees a probe slot and changes nothing else', (t) => {
  const { b, transitions } = halfOpen({ halfOpenRequests: 1 });
  const probe = b.onDispatch();
  t.false(b.allowsRequest());
  const before = transitions.length;
  b.recordNeutral(probe);
  t.is(b.state, 'half-open');
  t.true(b.allowsRequest(), 'the slot is free again');
  t.is(transitions.length, before);
  // The neutral result did not count as the success that closes the breaker.
  b.recordSuccess(b.onDispatch());
  t.is(b.state, 'closed');
});

test('recordNeutral while closed neither counts as a failure nor resets the count', (t) => {
  const { b, fail } = breaker();
  fail(2);
  b.recordNeutral(b.onDispatch());
  t.is(b.failures, 2);
  t.is(b.state, 'closed');
  fail(1);
  t.is(b.state, 'open');
});

test('enabled: false never opens and never makes probes', (t) => {
  const { b, transitions, fail } = breaker({ enabled: false });
  fail(100);
  t.is(b.state, 'closed');
  t.true(b.allowsRequest());
  t.false(b.onDispatch());
  t.is(b.retryAfterMs(), 0);
  t.deepEqual(transitions, []);
});

test('updateConfig({enabled: false}) closes an open breaker', (t) => {
  const { b, transitions, fail } = breaker();
  fail(3);
  b.updateConfig({ ...CONFIG, enabled: false });
  t.is(b.state, 'closed');
  t.true(b.allowsRequest());
  t.deepEqual(transitions, [
    ['closed', 'open'],
    ['open', 'closed'],
  ]);
});

test('reset() closes the breaker once and clears the failure count', (t) => {
  const { b, transitions, fail } = breaker();
  fail(3);
  b.reset();
  b.reset();
  t.is(b.state, 'closed');
  t.is(b.failures, 0);
  t.deepEqual(transitions, [
    ['closed', 'open'],
    ['open', 'closed'],
  ]);
});

test('retryAfterMs is 0 while closed', (t) => {
  const { b, fail } = breaker();
  fail(2);
  t.is(b.retryAfterMs(), 0);
});

test('the numeric encoding for velo_circuit_state is closed 0, half-open 1, open 2', (t) => {
  t.deepEqual(CIRCUIT_STATE_VALUE, { closed: 0, 'half-open': 1, open: 2 });
});
