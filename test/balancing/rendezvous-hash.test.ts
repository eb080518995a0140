import test from 'ava';
import { fmix32, fnv1a32, rendezvousScore } from '../../src/balancing/rendezvous-hash.js';

test('fnv1a32 matches the published FNV-1a test vectors', (t) => {
  t.is(fnv1a32(''), 0x811c9dc5);
  t.is(fnv1a32('a'), 0xe40c292c);
  t.is(fnv1a32('foobar'), 0xbf9cf968);
});

test('fmix32 matches MurmurHash3 of the empty input (fmix32 of the seed)', (t) => {
  t.is(fmix32(0), 0);
  t.is(fmix32(1), 0x514e28b7);
  t.is(fmix32(0xffffffff), 0x81f16f39);
});

test('scores are positive, finite and scale linearly with weight', (t) => {
  for (const [k, h] of [[0, 0], [0xffffffff, 0], [12345, 67890]]) {
    const s = rendezvousScore(k, h, 1);
    t.true(s > 0 && Number.isFinite(s), `score ${s} for ${k}, ${h}`);
    t.is(rendezvousScore(k, h, 3), 3 * s);
  }
});
