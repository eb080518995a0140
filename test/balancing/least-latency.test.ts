import test from 'ava';
import { LeastLatency } from '../../src/balancing/least-latency.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, scriptedRandom, seededRandom, tally } from './fake-upstream.js';

runConformance(test, () => new LeastLatency());

test('prefers the faster backend while both are idle', (t) => {
  const list = [new FakeUpstream('slow', { latencyMs: 50 }), new FakeUpstream('fast', { latencyMs: 10 })];
  const ll = new LeastLatency();
  t.deepEqual(tally(Array.from({ length: 20 }, () => ll.pick(list, ctx()))), { fast: 20 });
});

test('cost is latency times (in flight + 1)', (t) => {
  const slow = new FakeUpstream('slow', { latencyMs: 50 });
  const fast = new FakeUpstream('fast', { latencyMs: 10, inFlight: 4 });
  const ll = new LeastLatency();
  t.is(ll.pick([slow, fast], ctx({ random: scriptedRandom(0) })), slow, 'tie at 50 broken by the draw');
  t.is(ll.pick([slow, fast], ctx({ random: scriptedRandom(0.99) })), fast, 'tie at 50 broken by the draw');
  fast.inFlight = 5;
  t.is(ll.pick([slow, fast], ctx({ random: scriptedRandom() })), slow);
});

test('a new backend with no samples gets some but not most traffic when the others are busy', (t) => {
  const list = [
    new FakeUpstream('a', { latencyMs: 100, inFlight: 5 }),
    new FakeUpstream('b', { latencyMs: 100, inFlight: 5 }),
    new FakeUpstream('new'),
  ];
  const ll = new LeastLatency();
  const random = seededRandom(9);
  const picks = Array.from({ length: 30 }, () => {
    const u = ll.pick(list, ctx({ random }))!;
    (u as FakeUpstream).inFlight += 1;
    return u;
  });
  const counts = tally(picks);
  t.deepEqual(picks.slice(0, 5).map((u) => u.id), ['new', 'new', 'new', 'new', 'new']);
  t.true(counts.new >= 12 && counts.new <= 14, `new got ${counts.new} of 30`);
});

test('unsampled backends are costed at the median of the sampled ones', (t) => {
  const ll = new LeastLatency();
  const fresh = new FakeUpstream('fresh', { inFlight: 1 });
  const list = [new FakeUpstream('x', { latencyMs: 10, inFlight: 9 }), new FakeUpstream('y', { latencyMs: 30, inFlight: 9 }), fresh];
  t.is(ll.pick(list, ctx()), fresh, 'median 20 * 2 = 40 beats 100');
  fresh.inFlight = 5;
  t.is(ll.pick(list, ctx())?.id, 'x', 'median 20 * 6 = 120 loses to 100');
});

test('with no samples anywhere, picks spread by the random tie-break', (t) => {
  const ll = new LeastLatency();
  const list = [new FakeUpstream('a'), new FakeUpstream('b')];
  t.deepEqual(
    [0, 0.7].map((x) => ll.pick(list, ctx({ random: scriptedRandom(x) }))?.id),
    ['a', 'b'],
  );
});
