import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import type { RetryConfig } from '../../src/config/types.js';
import { backoffMs, isIdempotent, mayRetry, RetryBudget, type AttemptFailure } from '../../src/resilience/retry-policy.js';

// Defaults: base 25 ms, cap 250 ms, budget 20% with a minimum of 3.
const DEFAULT_RETRY: RetryConfig = parseConfigText('backends: [http://127.0.0.1:1]', undefined).pools[0]!.retry;
const config = (over: Partial<RetryConfig> = {}): RetryConfig => ({ ...DEFAULT_RETRY, ...over });

test('the defaults these tests rely on', (t) => {
  t.like(DEFAULT_RETRY, { retryNonIdempotent: false, backoffBaseMs: 25, backoffCapMs: 250, budgetPercent: 20, budgetMinRetries: 3 });
});

const FAILURES: AttemptFailure[] = ['connect', 'reset', 'timeout', 'status'];

// [method, failure, retryNonIdempotent] -> may retry
const RETRY_TABLE: Array<[string, AttemptFailure, boolean, boolean]> = [
  // Nothing was sent: safe for every method.
  ['POST', 'connect', false, true],
  ['PATCH', 'connect', false, true],
  // The request may have reached the backend: a POST may not be repeated...
  ['POST', 'reset', false, false],
  ['POST', 'timeout', false, false],
  ['POST', 'status', false, false],
  ['PATCH', 'reset', false, false],
  ['PATCH', 'timeout', false, false],
  // ...unless the operator said so.
  ['POST', 'reset', true, true],
  ['POST', 'timeout', true, true],
  ['POST', 'status', true, true],
  ['PATCH', 'timeout', true, true],
  // Idempotent methods may always be retried.
  ...(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'] as const).flatMap((m) =>
    FAILURES.map((f): [string, AttemptFailure, boolean, boolean] => [m, f, false, true]),
  ),
];

for (const [method, failure, nonIdempotent, expected] of RETRY_TABLE) {
  test(`mayRetry(${failure}, ${method}, retryNonIdempotent=${nonIdempotent}) is ${expected}`, (t) => {
    t.is(mayRetry(failure, method, config({ retryNonIdempotent: nonIdempotent })), expected);
  });
}

test('isIdempotent follows RFC 9110 section 9.2.2', (t) => {
  const idempotent = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'];
  const not = ['POST', 'PATCH', 'CONNECT'];
  t.deepEqual(idempotent.map(isIdempotent), idempotent.map(() => true));
  t.deepEqual(not.map(isIdempotent), not.map(() => false));
});

// [retryIndex, random, expected ms] with base 25 and cap 250.
const BACKOFF: Array<[number, number, number]> = [
  [0, 0, 0],
  [3, 0, 0],
  [0, 0.999, 24],
  [1, 0.999, 49],
  [2, 0.999, 99],
  [3, 0.999, 199],
  [4, 0.999, 249],
  [10, 0.999, 249],
  [0, 0.5, 12],
  [2, 0.5, 50],
  [5, 0.5, 125],
];

for (const [retryIndex, r, expected] of BACKOFF) {
  test(`backoffMs(${retryIndex}) with random ${r} is ${expected} ms (base 25, cap 250)`, (t) => {
    t.is(backoffMs(retryIndex, config(), () => r), expected);
  });
}

test('backoffMs stays below min(cap, base * 2^n) for random just under 1', (t) => {
  const r = 1 - Number.EPSILON;
  const got = [0, 1, 2, 3, 4, 5, 20].map((n) => backoffMs(n, config(), () => r));
  t.deepEqual(got, [24, 49, 99, 199, 249, 249, 249]);
});

test('backoffMs draws exactly one random number per call', (t) => {
  let draws = 0;
  backoffMs(2, config(), () => {
    draws += 1;
    return 0.3;
  });
  t.is(draws, 1);
});

// [active requests, retries in flight, allowed]
const BUDGET: Array<[number, number, boolean]> = [
  // The minimum of 3 always applies.
  [0, 0, true],
  [0, 2, true],
  [0, 3, false],
  [14, 2, true],
  [14, 3, false],
  // Beyond it, 20% of active requests.
  [20, 3, true],
  [20, 4, false],
  [100, 19, true],
  [100, 20, false],
  [104, 20, false],
  [105, 20, true],
];

for (const [active, retries, allowed] of BUDGET) {
  test(`RetryBudget with ${active} active and ${retries} retries in flight ${allowed ? 'allows' : 'refuses'} another retry`, (t) => {
    const budget = new RetryBudget();
    budget.active = active;
    budget.retriesInFlight = retries;
    t.is(budget.allows(config()), allowed);
  });
}

test('RetryBudget follows the configured percent and minimum', (t) => {
  const budget = new RetryBudget();
  budget.active = 10;
  budget.retriesInFlight = 4;
  t.true(budget.allows(config({ budgetPercent: 50, budgetMinRetries: 0 })));
  budget.retriesInFlight = 5;
  t.false(budget.allows(config({ budgetPercent: 50, budgetMinRetries: 0 })));
  budget.active = 0;
  budget.retriesInFlight = 0;
  t.false(budget.allows(config({ budgetPercent: 50, budgetMinRetries: 0 })), 'no minimum and nothing active: no retries');
});
