import test from 'ava';
import { PeakEwma } from '../../src/balancing/peak-ewma.js';

test('is undefined before the first sample and after reset', (t) => {
  const e = new PeakEwma();
  t.is(e.value(0), undefined);
  e.observe(40, 1_000);
  t.is(e.value(1_000), 40);
  e.reset();
  t.is(e.value(2_000), undefined);
});

test('a slower sample takes effect at once (the peak)', (t) => {
  const e = new PeakEwma(10_000);
  e.observe(10, 0);
  e.observe(500, 1);
  t.is(e.value(1), 500);
});

test('faster samples decay the value with time constant decayMs', (t) => {
  const e = new PeakEwma(10_000);
  e.observe(100, 0);
  e.observe(0, 10_000);
  t.is(e.value(10_000), 100 * Math.exp(-1));
  e.observe(0, 10_000);
  t.is(e.value(10_000), 100 * Math.exp(-1), 'no time elapsed: no decay');
});

test('a fast sample soon after a slow one barely moves the value', (t) => {
  const e = new PeakEwma(1_000);
  e.observe(200, 0);
  e.observe(20, 10);
  const w = Math.exp(-10 / 1_000);
  t.is(e.value(10), 200 * w + 20 * (1 - w));
  t.true(e.value(10)! > 198);
});

test('a clock that steps backwards does not amplify the value', (t) => {
  const e = new PeakEwma(1_000);
  e.observe(100, 5_000);
  e.observe(10, 4_000);
  t.is(e.value(4_000), 100);
});
