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

test('between samples the value decays toward zero with time constant decayMs', (t) => {
  const e = new PeakEwma(10_000);
  e.observe(500, 0);
  t.is(e.value(5_000), 500 * Math.exp(-0.5));
  t.is(e.value(19_999), 500 * Math.exp(-1.9999));
  t.is(e.value(-1_000), 500, 'a clock that steps backwards does not amplify the value');
});

test('a sample older than staleAfterMs (two decay windows by default) is dropped', (t) => {
  const e = new PeakEwma(10_000);
  e.observe(500, 0);
  t.is(e.value(20_000), undefined);
  const custom = new PeakEwma(1_000, 5_000);
  custom.observe(500, 0);
  t.true(custom.value(4_999)! > 0);
  t.is(custom.value(5_000), undefined);
});

test('the first sample after a stale estimate starts afresh instead of averaging with it', (t) => {
  const e = new PeakEwma(10_000);
  e.observe(500, 0);
  e.observe(10, 25_000);
  t.is(e.value(25_000), 10);
  const fresh = new PeakEwma(10_000);
  fresh.observe(500, 0);
  fresh.observe(10, 15_000);
  const w = Math.exp(-1.5);
  t.is(fresh.value(15_000), 500 * w + 10 * (1 - w), 'within the window the slow sample still weighs');
});
