/**
 * Property tests of every strategy in the registry: a pick is always an eligible backend
 * (available, not excluded), and undefined only when none is; the hash strategies are
 * consistent (same key, same backend while the set is unchanged) and minimally disruptive
 * (removing or losing one backend moves only the keys it had).
 */
import test from 'ava';
import fc from 'fast-check';
import { createStrategy, STRATEGY_NAMES } from '../../src/balancing/registry.js';
import type { Balanceable, PickContext } from '../../src/balancing/strategy.js';
import { ctx, FakeUpstream, seededRandom } from './fake-upstream.js';

const upstreamSpec = fc.record({
  weight: fc.integer({ min: 1, max: 10 }),
  inFlight: fc.integer({ min: 0, max: 20 }),
  available: fc.boolean(),
  latencyMs: fc.option(fc.double({ min: 0.1, max: 500, noNaN: true }), { nil: undefined }),
  excluded: fc.boolean(),
});
const pickRequest = fc.record({
  clientIp: fc.oneof(fc.ipV4(), fc.ipV6()),
  url: fc.webPath(),
  // Between picks the availability of one backend may flip, as health checks do.
  flip: fc.option(fc.nat(), { nil: undefined }),
});

for (const name of STRATEGY_NAMES) {
  test(`${name}: every pick is an eligible backend, and undefined only when none is`, (t) => {
    fc.assert(
      fc.property(fc.array(upstreamSpec, { maxLength: 8 }), fc.array(pickRequest, { minLength: 1, maxLength: 40 }), fc.integer(), (specs, requests, seed) => {
        const list = specs.map((s, i) => new FakeUpstream(`http://10.0.0.${i}:80`, s));
        const exclude = new Set<Balanceable>(list.filter((_, i) => specs[i]!.excluded));
        const strategy = createStrategy(name);
        const random = seededRandom(seed);
        return requests.every((r, i) => {
          if (r.flip !== undefined && list.length > 0) {
            const u = list[r.flip % list.length]!;
            u.available = !u.available;
          }
          const context: PickContext = ctx({ clientIp: r.clientIp, url: r.url, now: 1000 + i, random, exclude });
          const picked = strategy.pick(Object.freeze([...list]), context);
          const eligible = list.filter((u) => u.isAvailable() && !exclude.has(u));
          return picked === undefined ? eligible.length === 0 : eligible.includes(picked as FakeUpstream);
        });
      }),
      { numRuns: 200 },
    );
    t.pass();
  });
}

const HASHED = [
  ['ip-hash', (key: string) => ({ clientIp: key, url: '/' })],
  ['url-hash', (key: string) => ({ clientIp: '127.0.0.1', url: key })],
] as const;
const backendCount = fc.integer({ min: 2, max: 10 });
const keys = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 60 });

for (const [name, keyed] of HASHED) {
  const pickFor = (list: readonly FakeUpstream[], key: string): string | undefined =>
    createStrategy(name).pick(Object.freeze([...list]), ctx({ ...keyed(key), random: seededRandom(1) }))?.id;

  test(`${name}: the same key goes to the same backend while the set is unchanged`, (t) => {
    fc.assert(
      fc.property(backendCount, keys, (n, ks) => {
        const list = Array.from({ length: n }, (_, i) => new FakeUpstream(`http://10.1.0.${i}:80`));
        const strategy = createStrategy(name);
        const first = ks.map((k) => strategy.pick(list, ctx({ ...keyed(k), random: seededRandom(7) }))?.id);
        // Asked again, in another order and by a fresh instance: the same answers.
        const again = [...ks].reverse().map((k) => pickFor(list, k)).reverse();
        return first.every((id, i) => id !== undefined && id === again[i]);
      }),
      { numRuns: 200 },
    );
    t.pass();
  });

  test(`${name}: removing one backend moves only the keys it had`, (t) => {
    fc.assert(
      fc.property(backendCount, keys, fc.nat(), (n, ks, r) => {
        const list = Array.from({ length: n }, (_, i) => new FakeUpstream(`http://10.2.0.${i}:80`));
        const removed = list[r % n]!;
        const before = new Map(ks.map((k) => [k, pickFor(list, k)]));
        const rest = list.filter((u) => u !== removed);
        return ks.every((k) => {
          const now = pickFor(rest, k);
          return now !== removed.id && (before.get(k) === removed.id || now === before.get(k));
        });
      }),
      { numRuns: 200 },
    );
    t.pass();
  });

  test(`${name}: a backend going unavailable moves only its keys, and they come back with it`, (t) => {
    fc.assert(
      fc.property(backendCount, keys, fc.nat(), (n, ks, r) => {
        const list = Array.from({ length: n }, (_, i) => new FakeUpstream(`http://10.3.0.${i}:80`));
        const down = list[r % n]!;
        const before = new Map(ks.map((k) => [k, pickFor(list, k)]));
        down.available = false;
        const moved = ks.every((k) => {
          const now = pickFor(list, k);
          return now !== down.id && (before.get(k) === down.id || now === before.get(k));
        });
        down.available = true;
        return moved && ks.every((k) => pickFor(list, k) === before.get(k));
      }),
      { numRuns: 200 },
    );
    t.pass();
  });
}
