import test from 'ava';
import { PowerOfTwo } from '../../src/balancing/power-of-two.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, scriptedRandom, seededRandom, tally } from './fake-upstream.js';

runConformance(test, () => new PowerOfTwo());

const loaded = () => [
  new FakeUpstream('a', { inFlight: 0 }),
  new FakeUpstream('b', { inFlight: 5 }),
  new FakeUpstream('c', { inFlight: 10 }),
];

test('of the two sampled backends, the less loaded one wins', (t) => {
  const p2c = new PowerOfTwo();
  const table: Array<[number, number, string]> = [
    [0.0, 0.0, 'a'], // samples a, b
    [0.0, 0.99, 'a'], // samples a, c
    [0.5, 0.0, 'a'], // samples b, a
    [0.5, 0.9, 'b'], // samples b, c
    [0.99, 0.6, 'b'], // samples c, b
    [0.99, 0.0, 'a'], // samples c, a
  ];
  for (const [r1, r2, expected] of table) {
    t.is(p2c.pick(loaded(), ctx({ random: scriptedRandom(r1, r2) }))?.id, expected, `draws ${r1}, ${r2}`);
  }
});

test('never picks the most loaded backend and favours the least loaded', (t) => {
  const p2c = new PowerOfTwo();
  const list = loaded();
  const random = seededRandom(3);
  const counts = tally(Array.from({ length: 3000 }, () => p2c.pick(list, ctx({ random }))));
  t.false('c' in counts, `c got ${counts.c}`);
  t.true(counts.a > 1850 && counts.a < 2150, `a got ${counts.a}`);
});

test('compares load relative to effective weight', (t) => {
  const heavy = new FakeUpstream('heavy', { weight: 2, inFlight: 3 });
  const light = new FakeUpstream('light', { weight: 1, inFlight: 2 });
  t.is(new PowerOfTwo().pick([light, heavy], ctx({ random: scriptedRandom(0, 0) })), heavy);
  heavy.rampedWeight = 1;
  t.is(new PowerOfTwo().pick([light, heavy], ctx({ random: scriptedRandom(0, 0) })), light);
});

test('with one eligible backend, returns it without drawing', (t) => {
  const list = loaded();
  list[0].available = false;
  list[1].available = false;
  t.is(new PowerOfTwo().pick(list, ctx({ random: scriptedRandom() }))?.id, 'c');
});
