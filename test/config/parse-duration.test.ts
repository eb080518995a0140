import test from 'ava';
import { formatDuration, parseDuration } from '../../src/config/parse-duration.js';

const VALID: Array<[string | number, number]> = [
  ['250ms', 250],
  ['5s', 5_000],
  ['1m', 60_000],
  ['1h', 3_600_000],
  ['1.5s', 1_500],
  ['1m30s', 90_000],
  ['1h2m3s4ms', 3_723_004],
  ['0', 0],
  ['0s', 0],
  ['  2s ', 2_000],
  ['1500', 1_500],
  [1500, 1_500],
  [0, 0],
  [2.4, 2],
];

for (const [input, ms] of VALID) {
  test(`parseDuration(${JSON.stringify(input)}) is ${ms} ms`, (t) => {
    t.is(parseDuration(input), ms);
  });
}

const INVALID: Array<string | number> = ['', '5x', 's', '-1s', '-5', -1, NaN, Infinity, '1 s', '30s1m', '1s1s', '1.s', 'ms', '5S', '1d', '1m30', '1e3'];

for (const input of INVALID) {
  test(`parseDuration(${typeof input === 'number' ? String(input) : JSON.stringify(input)}) is undefined`, (t) => {
    t.is(parseDuration(input), undefined);
  });
}

const FORMATTED: Array<[number, string]> = [
  [0, '0ms'],
  [250, '250ms'],
  [1_000, '1s'],
  [1_500, '1.5s'],
  [60_000, '1m'],
  [90_000, '1m30s'],
  [3_600_000, '1h'],
  [3_661_500, '1h1m1.5s'],
];

for (const [ms, text] of FORMATTED) {
  test(`formatDuration(${ms}) is ${text} and parses back`, (t) => {
    t.is(formatDuration(ms), text);
    t.is(parseDuration(formatDuration(ms)), ms);
  });
}
