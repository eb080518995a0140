import test from 'ava';
import { IpHash } from '../../src/balancing/ip-hash.js';
import type { Balanceable } from '../../src/balancing/strategy.js';
import { runConformance } from './conformance.js';
import { ctx, FakeUpstream, fakes, tally } from './fake-upstream.js';

runConformance(test, () => new IpHash());

const IPS = Array.from({ length: 1000 }, (_, i) => `192.168.${i >> 8}.${i & 255}`);
const BACKENDS = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://10.0.0.4:8080', 'http://10.0.0.5:8080'];

const assign = (s: IpHash, list: readonly Balanceable[]) => IPS.map((clientIp) => s.pick(list, ctx({ clientIp }))?.id);

test('the same client IP always reaches the same backend, whatever the list order', (t) => {
  const list = fakes(...BACKENDS);
  const s = new IpHash();
  const first = assign(s, list);
  t.deepEqual(assign(s, list), first);
  t.deepEqual(assign(new IpHash(), list.slice().reverse()), first);
});

test('1000 client IPs spread over 5 backends', (t) => {
  const counts = tally(assign(new IpHash(), fakes(...BACKENDS)));
  t.is(Object.keys(counts).length, 5);
  for (const [id, n] of Object.entries(counts)) t.true(n >= 140 && n <= 260, `${id} got ${n}`);
});

test('removing one of 5 backends moves exactly the IPs that were on it', (t) => {
  const list = fakes(...BACKENDS);
  const s = new IpHash();
  const before = assign(s, list);
  const gone = list[2].id;
  const after = assign(s, list.filter((u) => u.id !== gone));
  const moved = IPS.filter((_, i) => before[i] !== after[i]);
  const heldByGone = IPS.filter((_, i) => before[i] === gone);
  t.true(heldByGone.length > 0);
  t.deepEqual(moved, heldByGone);
  t.false(after.includes(gone));
});

test('a backend becoming unavailable moves only its IPs, and they return when it recovers', (t) => {
  const list = fakes(...BACKENDS);
  const s = new IpHash();
  const before = assign(s, list);
  list[0].available = false;
  const during = assign(s, list);
  t.deepEqual(IPS.filter((_, i) => before[i] !== during[i]), IPS.filter((_, i) => before[i] === list[0].id));
  list[0].available = true;
  t.deepEqual(assign(s, list), before);
});

test('a backend of weight 3 gets about three times the clients of weight 1', (t) => {
  const list = [new FakeUpstream('http://a:1', { weight: 3 }), new FakeUpstream('http://b:1', { weight: 1 })];
  const counts = tally(assign(new IpHash(), list));
  t.true(counts['http://a:1'] >= 700 && counts['http://a:1'] <= 800, `a got ${counts['http://a:1']}`);
});
