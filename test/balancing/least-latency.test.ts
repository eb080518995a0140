import test from 'ava';
import { LeastLatency } from '../../src/balancing/least-latency.js';
import { PeakEwma } from '../../src/balancing/peak-ewma.js';
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

/** A backend whose latency estimate is a real PeakEwma read at the pick's clock. */
class EwmaUpstream extends FakeUpstream {
  readonly ewma = new PeakEwma();

  override latencyEwmaMs(now: number): number | undefined {
    return this.ewma.value(now);
  }
}

/**
 * One request every `stepMs` from `fromMs` to `toMs` (exclusive), one at a time (nothing in
 * flight at a pick, the harshest case for a slow backend): the picked backend answers in
 * `latencyOf(id)` ms and that sample is recorded when it is picked. Returns the picks' ids.
 */
function serve(list: EwmaUpstream[], fromMs: number, toMs: number, stepMs: number, latencyOf: (id: string) => number): string[] {
  const ll = new LeastLatency();
  const random = seededRandom(7);
  const ids: string[] = [];
  for (let now = fromMs; now < toMs; now += stepMs) {
    const u = ll.pick(list, ctx({ now, random })) as EwmaUpstream;
    u.ewma.observe(latencyOf(u.id), now);
    ids.push(u.id);
  }
  return ids;
}

test('a backend that was slow once gets requests again once time passes without samples', (t) => {
  const fast = new EwmaUpstream('fast');
  const once = new EwmaUpstream('once');
  fast.ewma.observe(10, 0);
  once.ewma.observe(500, 0);
  // Both now answer in 10 ms; 20 s of traffic, then 300 more requests over 30 s.
  const before = tally(serve([fast, once], 100, 20_000, 100, () => 10));
  t.deepEqual(before, { fast: 199 }, 'while its slow sample is fresh it is avoided');
  const after = tally(serve([fast, once], 20_000, 50_000, 100, () => 10));
  t.true(after.once! >= 120 && after.once! <= 180, `recovered backend got ${after.once} of 300`);
});

test('a backend that stays slow is only probed, about once per two decay windows', (t) => {
  const fast = new EwmaUpstream('fast');
  const slow = new EwmaUpstream('slow');
  fast.ewma.observe(10, 0);
  slow.ewma.observe(500, 0);
  const counts = tally(serve([fast, slow], 100, 60_100, 100, (id) => (id === 'slow' ? 500 : 10)));
  t.true(counts.slow! >= 2 && counts.slow! <= 4, `slow backend got ${counts.slow} of 600`);
});

test('a sampled backend whose estimate decays below the others is tried again before it is stale', (t) => {
  const ll = new LeastLatency();
  const steady = new FakeUpstream('steady', { latencyMs: 100 });
  const once = new EwmaUpstream('once');
  once.ewma.observe(300, 0);
  t.is(ll.pick([steady, once], ctx({ now: 10_000 }))?.id, 'steady', '300 * e^-1 = 110 > 100');
  t.is(ll.pick([steady, once], ctx({ now: 11_500 }))?.id, 'once', '300 * e^-1.15 = 95 < 100');
});

test('with no samples anywhere, in-flight requests still count', (t) => {
  const ll = new LeastLatency();
  const list = [new FakeUpstream('busy', { inFlight: 3 }), new FakeUpstream('idle')];
  const random = seededRandom(3);
  t.deepEqual(tally(Array.from({ length: 20 }, () => ll.pick(list, ctx({ random })))), { idle: 20 });
});
