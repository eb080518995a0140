import test from 'ava';
import { RandomChoice } from '../../src/balancing/random.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, scriptedRandom, seededRandom, tally } from './fake-upstream.js';

runConformance(test, () => new RandomChoice());

const list = () => [new FakeUpstream('a', { weight: 1 }), new FakeUpstream('b', { weight: 3 })];

test('maps the random draw onto cumulative weights', (t) => {
  const r = new RandomChoice();
  const ups = list();
  const draws = [0, 0.2499, 0.25, 0.9999];
  const picked = draws.map((x) => r.pick(ups, ctx({ random: scriptedRandom(x) }))?.id);
  t.deepEqual(picked, ['a', 'a', 'b', 'b']);
});

test('picks in proportion to weight over many draws', (t) => {
  const r = new RandomChoice();
  const ups = list();
  const random = seededRandom(7);
  const counts = tally(Array.from({ length: 4000 }, () => r.pick(ups, ctx({ random }))));
  t.true(counts.a > 850 && counts.a < 1150, `a got ${counts.a}`);
  t.is(counts.a + counts.b, 4000);
});

test('skips an unavailable backend when mapping the draw', (t) => {
  const ups = [new FakeUpstream('a', { available: false }), new FakeUpstream('b'), new FakeUpstream('c')];
  const picked = [0, 0.49, 0.5, 0.99].map((x) => new RandomChoice().pick(ups, ctx({ random: scriptedRandom(x) }))?.id);
  t.deepEqual(picked, ['b', 'b', 'c', 'c']);
});
