import test from 'ava';
import { ChunkRing } from '../../src/store/chunk-ring.js';

const text = (ring: ChunkRing, r: { start: number; end: number }): string => new TextDecoder().decode(new Uint8Array(ring.buffer, r.start, r.end - r.start));

test('texts go in as UTF-8 one after another, and come out as they went in', (t) => {
  const ring = new ChunkRing(64);
  const a = ring.put('[["a\\"b"]]')!;
  const b = ring.put('["é日"]')!;
  t.deepEqual(a, { start: 0, end: 10 });
  t.deepEqual(b, { start: 10, end: 10 + 9 }, 'é is 2 bytes, 日 3');
  t.is(text(ring, a), '[["a\\"b"]]');
  t.is(text(ring, b), '["é日"]');
  t.is(ring.pending, 2);
});

test('a full ring refuses a text without taking anything; freeing the oldest makes room, round to the start', (t) => {
  const ring = new ChunkRing(30);
  const ten = (c: string): string => c.repeat(10);
  t.deepEqual(ring.put(ten('a')), { start: 0, end: 10 });
  t.deepEqual(ring.put(ten('b')), { start: 10, end: 20 });
  t.is(ring.put('c'.repeat(11)), undefined, '11 bytes do not fit in the 10 left');
  t.deepEqual(ring.put(ten('c')), { start: 20, end: 30 });
  t.is(ring.put('d'), undefined, 'full');
  t.is(ring.pending, 3);
  ring.free(1);
  t.is(ring.put('d'.repeat(11)), undefined, 'only the 10 bytes of the first text are free');
  const d = ring.put(ten('d'))!;
  t.deepEqual(d, { start: 0, end: 10 }, 'round to the start');
  t.is(ring.put('e'), undefined, 'the second text is still taken');
  ring.free(1);
  t.deepEqual(ring.put('e'.repeat(4)), { start: 10, end: 14 });
  t.is(text(ring, d), ten('d'));
  ring.free(3);
  t.is(ring.pending, 0);
  t.deepEqual(ring.put('f'.repeat(30)), { start: 0, end: 30 }, 'empty again: the whole ring');
});

test('a text that does not fit at the end goes round to the start when the oldest range has moved on', (t) => {
  const ring = new ChunkRing(20);
  ring.put('a'.repeat(8));
  ring.put('b'.repeat(8));
  ring.free(1);
  // 4 bytes left at the end, 8 free at the start.
  t.deepEqual(ring.put('c'.repeat(6)), { start: 0, end: 6 });
  t.deepEqual(ring.put('d'.repeat(2)), { start: 6, end: 8 }, 'then on from there, up to the oldest range');
  t.is(ring.put('e'), undefined);
});

test('multi-byte characters count as the bytes they take', (t) => {
  const ring = new ChunkRing(8);
  t.is(ring.put('日日日'), undefined, '9 bytes');
  t.deepEqual(ring.put('日日é'), { start: 0, end: 8 });
});
