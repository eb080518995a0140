import type { TestFn } from 'ava';
import type { Balanceable, PickContext, Strategy } from '../../src/balancing/strategy.js';
import { ctx, FakeUpstream, fakes, seededRandom, tally } from './fake-upstream.js';

/** Context for the i-th request of a run: distinct client IP and URL per request, shared random source. */
export function requestCtx(i: number, random: () => number, extra: Partial<PickContext> = {}): PickContext {
  return ctx({
    clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    url: `/items/${i}?page=${i % 7}`,
    now: 1_000 + i,
    random,
    ...extra,
  });
}

function run(strategy: Strategy, list: readonly Balanceable[], n: number, extra: Partial<PickContext> = {}) {
  const random = seededRandom(42);
  const picks: Array<Balanceable | undefined> = [];
  for (let i = 0; i < n; i++) picks.push(strategy.pick(list, requestCtx(i, random, extra)));
  return picks;
}

/** Registers the behaviours every strategy must share: empty pool, skipping ineligible backends, spreading load, panic mode. */
export function runConformance(test: TestFn, factory: () => Strategy): void {
  const name = factory().name;

  test(`${name} conformance: empty list gives undefined`, (t) => {
    t.is(factory().pick(Object.freeze([]), ctx()), undefined);
  });

  test(`${name} conformance: all unavailable gives undefined`, (t) => {
    const list = Object.freeze(fakes('a', 'b', 'c').map((u) => ((u.available = false), u)));
    const picks = run(factory(), list, 50);
    t.deepEqual(tally(picks), { '': 50 });
  });

  test(`${name} conformance: all excluded gives undefined`, (t) => {
    const list = Object.freeze(fakes('a', 'b'));
    t.is(factory().pick(list, ctx({ exclude: new Set(list) })), undefined);
  });

  test(`${name} conformance: never picks an unavailable or excluded backend`, (t) => {
    const [a, down, excluded, d] = fakes('a', 'down', 'excluded', 'd');
    down.available = false;
    const picks = run(factory(), Object.freeze([a, down, excluded, d]), 1000, { exclude: new Set([excluded]) });
    const counts = tally(picks);
    t.deepEqual(Object.keys(counts).sort(), ['a', 'd']);
    t.true(counts.a > 0 && counts.d > 0);
  });

  test(`${name} conformance: a single eligible backend takes every pick`, (t) => {
    const [a, b] = fakes('a', 'b');
    b.available = false;
    t.deepEqual(tally(run(factory(), Object.freeze([a, b]), 100)), { a: 100 });
  });

  test(`${name} conformance: spreads 3000 picks fairly over 3 equal backends`, (t) => {
    const counts = tally(run(factory(), Object.freeze(fakes('a', 'b', 'c')), 3000));
    t.deepEqual(Object.keys(counts).sort(), ['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) {
      t.true(counts[id] >= 600 && counts[id] <= 1380, `${id} got ${counts[id]} of 3000`);
    }
  });

  test(`${name} conformance: ignoreAvailability balances over unavailable backends but still honours exclude`, (t) => {
    const list = fakes('a', 'b', 'c', 'excluded');
    for (const u of list) u.available = false;
    const picks = run(factory(), Object.freeze(list), 300, { ignoreAvailability: true, exclude: new Set([list[3]]) });
    t.deepEqual(Object.keys(tally(picks)).sort(), ['a', 'b', 'c']);
  });

  test(`${name} conformance: uses only the injected random source and clock`, (t) => {
    const { random, now } = { random: Math.random, now: Date.now };
    const forbid = () => {
      throw new Error('strategy used Math.random or Date.now');
    };
    const list = [new FakeUpstream('a', { latencyMs: 5 }), new FakeUpstream('b', { inFlight: 1 }), new FakeUpstream('c')];
    Math.random = forbid;
    Date.now = forbid;
    try {
      t.notThrows(() => run(factory(), Object.freeze(list), 200));
    } finally {
      Math.random = random;
      Date.now = now;
    }
  });
}
