import test from 'ava';
import { RoundRobin } from '../../src/balancing/round-robin.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, fakes, tally } from './fake-upstream.js';

runConformance(test, () => new RoundRobin());

const ids = (rr: RoundRobin, list: FakeUpstream[], n: number) =>
  Array.from({ length: n }, () => rr.pick(list, ctx())?.id).join('');

test('starts at the first backend and cycles in config order', (t) => {
  t.is(ids(new RoundRobin(), fakes('a', 'b', 'c'), 7), 'abcabca');
});

test('N*k picks over N eligible backends give exactly k each', (t) => {
  for (const [n, k] of [[1, 5], [3, 100], [5, 37]] as const) {
    const list = fakes(...Array.from({ length: n }, (_, i) => `u${i}`));
    const rr = new RoundRobin();
    const counts = tally(Array.from({ length: n * k }, () => rr.pick(list, ctx())));
    t.deepEqual(Object.values(counts), Array(n).fill(k), `n=${n} k=${k}`);
  }
});

test('skipping an ineligible backend does not give its turn to a neighbour twice', (t) => {
  const list = fakes('a', 'b', 'c', 'd');
  list[1].available = false;
  t.is(ids(new RoundRobin(), list, 9), 'acdacdacd');
});

test('a backend that comes back is resumed in its place', (t) => {
  const list = fakes('a', 'b', 'c');
  const rr = new RoundRobin();
  list[1].available = false;
  t.is(ids(rr, list, 3), 'aca');
  list[1].available = true;
  t.is(ids(rr, list, 4), 'bcab');
});

test('survives the list shrinking and growing between picks', (t) => {
  const rr = new RoundRobin();
  const big = fakes('a', 'b', 'c', 'd', 'e');
  t.is(ids(rr, big, 4), 'abcd');
  t.is(ids(rr, big.slice(0, 2), 3), 'aba');
  t.is(ids(rr, big, 3), 'bcd');
  t.is(rr.pick([], ctx()), undefined);
  t.is(ids(rr, big.slice(0, 3), 2), 'bc');
});
