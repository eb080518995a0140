import test from 'ava';
import { WeightedRoundRobin } from '../../src/balancing/weighted-round-robin.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, tally } from './fake-upstream.js';

runConformance(test, () => new WeightedRoundRobin());

const weighted = (spec: Record<string, number>) =>
  Object.entries(spec).map(([id, weight]) => new FakeUpstream(id, { weight }));

test('weights 5,1,1 give nginx\'s smooth sequence a a b a c a a in every cycle', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 5, b: 1, c: 1 });
  const seq = Array.from({ length: 21 }, () => wrr.pick(list, ctx())?.id).join('');
  t.is(seq, 'aabacaa'.repeat(3));
});

test('weights 1,2,3 over 600 picks give exactly 100/200/300', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 1, b: 2, c: 3 });
  t.deepEqual(tally(Array.from({ length: 600 }, () => wrr.pick(list, ctx()))), { a: 100, b: 200, c: 300 });
});

test('uses the slow-start effective weight, not the configured one', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 3, b: 3 });
  list[1].rampedWeight = 1;
  t.deepEqual(tally(Array.from({ length: 400 }, () => wrr.pick(list, ctx()))), { a: 300, b: 100 });
});

test('an unavailable backend\'s share goes to the others in proportion', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 1, b: 5, c: 3 });
  list[1].available = false;
  t.deepEqual(tally(Array.from({ length: 400 }, () => wrr.pick(list, ctx()))), { a: 100, c: 300 });
});

test('state for backends that left the list is dropped', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 1, b: 1, c: 1, d: 1 });
  for (let i = 0; i < 8; i++) wrr.pick(list, ctx());
  t.is(wrr.trackedCount, 4);
  for (let i = 0; i < 8; i++) wrr.pick(list.slice(0, 2), ctx());
  t.is(wrr.trackedCount, 2);
  const replaced = [list[0], new FakeUpstream('e')];
  for (let i = 0; i < 4; i++) wrr.pick(replaced, ctx());
  t.is(wrr.trackedCount, 2);
});

test('a list mutated in place to a different backend does not leak', (t) => {
  const wrr = new WeightedRoundRobin();
  const list = weighted({ a: 1, b: 1 });
  for (let i = 0; i < 4; i++) wrr.pick(list, ctx());
  for (let n = 0; n < 50; n++) {
    list[1] = new FakeUpstream(`x${n}`);
    for (let i = 0; i < 2; i++) wrr.pick(list, ctx());
  }
  t.true(wrr.trackedCount <= 2, `tracked ${wrr.trackedCount}`);
});
