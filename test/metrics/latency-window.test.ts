import test from 'ava';
import fc from 'fast-check';
import { LatencyWindow, quantile } from '../../src/metrics/latency-window.js';

/** What summarize() must equal: nearest-rank p50/p99 of a full sort. */
function reference(samples: readonly number[]): { p50: number; p99: number; count: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count: sorted.length };
}

function windowOf(samples: readonly number[], clock = { now: 0 }): LatencyWindow {
  const w = new LatencyWindow(() => clock.now);
  for (const ms of samples) w.record(ms);
  return w;
}

const ascending = Array.from({ length: 2048 }, (_, i) => i / 10);
const cases: Array<[string, number[]]> = [
  ['one sample', [7]],
  ['two samples', [9, 1]],
  ['all equal', Array.from({ length: 500 }, () => 3)],
  ['ascending, full ring', ascending],
  ['descending, full ring', [...ascending].reverse()],
  ['organ pipe', [...ascending.slice(0, 1024), ...ascending.slice(0, 1024).reverse()]],
  ['few distinct values', Array.from({ length: 2048 }, (_, i) => (i * 7919) % 3)],
  ['one slow outlier in 100', Array.from({ length: 100 }, (_, i) => (i === 37 ? 250 : 1))],
];
for (const [name, samples] of cases) {
  test(`summarize: nearest-rank p50 and p99 of ${name}`, (t) => {
    t.deepEqual(windowOf(samples).summarize(10_000), reference(samples));
  });
}

test('summarize equals the sorted reference for any samples', (t) => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 2048 }), (samples) => {
      t.deepEqual(windowOf(samples).summarize(10_000), reference(samples));
    }),
  );
});

test('summarize counts only the samples inside the time window', (t) => {
  const clock = { now: 0 };
  const w = new LatencyWindow(() => clock.now);
  for (let i = 0; i < 100; i++) w.record(1000 + i);
  clock.now = 20_000;
  for (let i = 0; i < 10; i++) w.record(i);
  t.deepEqual(w.summarize(10_000), reference([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  clock.now = 40_000;
  t.deepEqual(w.summarize(10_000), { p50: 0, p99: 0, count: 0 });
});

test('summarizing one window leaves nothing behind for the next', (t) => {
  const big = windowOf(Array.from({ length: 2048 }, (_, i) => 5000 - i));
  const small = windowOf([2, 1, 3]);
  big.summarize(10_000);
  t.deepEqual(small.summarize(10_000), { p50: 2, p99: 3, count: 3 });
  t.deepEqual(big.summarize(10_000), reference(Array.from({ length: 2048 }, (_, i) => 5000 - i)));
});
