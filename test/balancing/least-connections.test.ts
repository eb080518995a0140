import test from 'ava';
import { LeastConnections } from '../../src/balancing/least-connections.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, fakes, tally } from './fake-upstream.js';

runConformance(test, () => new LeastConnections());

test('prefers the backend with fewest requests in flight', (t) => {
  const list = [new FakeUpstream('a', { inFlight: 3 }), new FakeUpstream('b', { inFlight: 1 }), new FakeUpstream('c', { inFlight: 2 })];
  const lc = new LeastConnections();
  t.deepEqual(tally(Array.from({ length: 10 }, () => lc.pick(list, ctx()))), { b: 10 });
});

test('divides in-flight by weight: weight 2 with 2 in flight ties weight 1 with 1 in flight', (t) => {
  const heavy = new FakeUpstream('heavy', { weight: 2, inFlight: 2 });
  const light = new FakeUpstream('light', { weight: 1, inFlight: 1 });
  const lc = new LeastConnections();
  t.deepEqual(tally(Array.from({ length: 10 }, () => lc.pick([light, heavy], ctx()))), { light: 5, heavy: 5 });
  heavy.inFlight = 3;
  t.is(lc.pick([light, heavy], ctx()), light);
  heavy.inFlight = 1;
  t.is(lc.pick([light, heavy], ctx()), heavy);
});

test('with all idle, sequential picks rotate through the tied backends', (t) => {
  const lc = new LeastConnections();
  const list = fakes('a', 'b', 'c');
  t.is(Array.from({ length: 6 }, () => lc.pick(list, ctx())?.id).join(''), 'abcabc');
});

test('keeps in-flight counts level when each pick adds a request', (t) => {
  const lc = new LeastConnections();
  const list = [new FakeUpstream('a', { inFlight: 4 }), new FakeUpstream('b'), new FakeUpstream('c', { weight: 2 })];
  for (let i = 0; i < 20; i++) (lc.pick(list, ctx()) as FakeUpstream).inFlight += 1;
  t.deepEqual(list.map((u) => u.inFlight), [6, 6, 12]);
});
