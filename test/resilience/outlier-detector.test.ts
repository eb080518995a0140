import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { OutlierDetector } from '../../src/resilience/outlier-detector.js';
import { Upstream } from '../../src/upstream/upstream.js';

function setup(t: { teardown: (fn: () => unknown) => void }) {
  let now = 1_000_000;
  const clock = (): number => now;
  const yaml = 'outlier_detection: { consecutive_failures: 2, base_ejection_time: 10s, max_ejection_time: 100s, max_ejection_percent: 100 }\nbackends: [http://127.0.0.1:1, http://127.0.0.1:2]\n';
  const pool = parseConfigText(yaml).pools[0]!;
  const ups = pool.backends.map((b) => new Upstream(b.url, b, pool, { clock }));
  t.teardown(() => Promise.all(ups.map((u) => u.destroy())));
  const ejections: number[] = [];
  const detector = new OutlierDetector(pool.outlier, clock, (_u, ms) => ejections.push(ms));
  const fail = (u: Upstream, times = 2): void => {
    for (let i = 0; i < times; i++) detector.record(u, 502, ups);
  };
  return { ups, detector, ejections, fail, advance: (ms: number) => (now += ms), now: () => now };
}

test('consecutive gateway failures eject for base x times ejected, up to the max', (t) => {
  const s = setup(t);
  const u = s.ups[0]!;
  s.fail(u);
  t.true(u.isEjected());
  s.advance(10_000);
  t.false(u.isEjected());
  s.fail(u);
  s.advance(20_000);
  s.fail(u);
  t.deepEqual(s.ejections, [10_000, 20_000, 30_000]);
  t.is(u.ejectionsTotal, 3);
});

test('a success resets the consecutive count', (t) => {
  const s = setup(t);
  const u = s.ups[0]!;
  s.detector.record(u, 502, s.ups);
  s.detector.record(u, 200, s.ups);
  s.detector.record(u, 502, s.ups);
  t.false(u.isEjected());
});

test('the multiplier decays by one per base ejection time served well; the total never does', (t) => {
  const s = setup(t);
  const u = s.ups[0]!;
  s.fail(u);
  s.advance(10_000);
  s.fail(u);
  t.is(u.ejectionCount, 2);
  s.advance(20_000); // ejection over
  s.advance(25_000); // two and a half base periods of good service
  s.detector.record(u, 200, s.ups);
  t.is(u.ejectionCount, 0);
  t.is(u.ejectionsTotal, 2);
  s.fail(u);
  t.deepEqual(s.ejections, [10_000, 20_000, 10_000], 'after the decay the next ejection is short again');
});

test('the multiplier does not decay while ejected or before a whole period has passed', (t) => {
  const s = setup(t);
  const u = s.ups[0]!;
  s.fail(u);
  s.advance(5_000);
  s.detector.record(u, 200, s.ups);
  t.is(u.ejectionCount, 1, 'still ejected');
  s.advance(5_000 + 9_000);
  s.detector.record(u, 200, s.ups);
  t.is(u.ejectionCount, 1, '9 s of service is not a whole 10 s period');
  s.advance(1_000);
  s.detector.record(u, 200, s.ups);
  t.is(u.ejectionCount, 0);
});
