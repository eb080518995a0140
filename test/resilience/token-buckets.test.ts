import test from 'ava';
import { TokenBuckets } from '../../src/resilience/token-buckets.js';

test('a new client has a full bucket of burst tokens, then refills at rps', (t) => {
  const b = new TokenBuckets({ rps: 2, burst: 3 });
  t.deepEqual(
    [0, 0, 0, 0].map((now) => b.take('a', now).allowed),
    [true, true, true, false],
  );
  t.false(b.take('a', 499).allowed, 'just under half a second: not yet one token');
  t.true(b.take('a', 500 + 499 / 2).allowed, 'one token after 1 / rps seconds');
});

test('a take reports whole tokens left, ms until one is back and ms until full', (t) => {
  const b = new TokenBuckets({ rps: 2, burst: 2 });
  t.deepEqual(b.take('a', 0), { allowed: true, remaining: 1, retryAfterMs: 0, fullInMs: 500 });
  t.deepEqual(b.take('a', 0), { allowed: true, remaining: 0, retryAfterMs: 0, fullInMs: 1000 });
  t.deepEqual(b.take('a', 250), { allowed: false, remaining: 0, retryAfterMs: 250, fullInMs: 750 });
});

test('each key has its own bucket', (t) => {
  const b = new TokenBuckets({ rps: 1, burst: 1 });
  t.true(b.take('a', 0).allowed);
  t.false(b.take('a', 0).allowed);
  t.true(b.take('b', 0).allowed);
  t.is(b.size, 2);
});

test('a new rate applies to existing buckets, their tokens clamped to the new burst', (t) => {
  const b = new TokenBuckets({ rps: 1, burst: 10 });
  b.take('a', 0);
  b.rate = { rps: 1, burst: 2 };
  t.deepEqual([b.take('a', 0).allowed, b.take('a', 0).allowed, b.take('a', 0).allowed], [true, true, false]);
});

test('a clock that steps backwards adds no tokens', (t) => {
  const b = new TokenBuckets({ rps: 1, burst: 1 });
  t.true(b.take('a', 5_000).allowed);
  t.false(b.take('a', 1_000).allowed);
  t.false(b.take('a', 1_500).allowed);
});
