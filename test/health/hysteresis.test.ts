import test from 'ava';
import { Hysteresis, type HealthState } from '../../src/health/hysteresis.js';

/** `P` is a passed check, `F` a failed one. */
type Step = 'P' | 'F';

interface Case {
  title: string;
  rise: number;
  fall: number;
  /** Forced state before the steps; omitted = fresh (`unknown`). */
  from?: HealthState;
  steps: string;
  /** What `record` returns at each step (`-` = undefined, i.e. no change). */
  returns: Array<HealthState | '-'>;
  final: HealthState;
}

const CASES: Case[] = [
  { title: 'the first pass settles unknown at once', rise: 2, fall: 3, steps: 'P', returns: ['healthy'], final: 'healthy' },
  { title: 'the first failure settles unknown at once', rise: 2, fall: 3, steps: 'F', returns: ['unhealthy'], final: 'unhealthy' },
  { title: 'healthy goes down on the fall-th consecutive failure', rise: 2, fall: 3, from: 'healthy', steps: 'FFF', returns: ['-', '-', 'unhealthy'], final: 'unhealthy' },
  { title: 'a pass in between restarts the failure count', rise: 2, fall: 3, from: 'healthy', steps: 'FFPFFF', returns: ['-', '-', '-', '-', '-', 'unhealthy'], final: 'unhealthy' },
  { title: 'unhealthy comes back on the rise-th consecutive pass', rise: 2, fall: 3, from: 'unhealthy', steps: 'PP', returns: ['-', 'healthy'], final: 'healthy' },
  { title: 'a failure in between restarts the pass count', rise: 2, fall: 3, from: 'unhealthy', steps: 'PFPP', returns: ['-', '-', '-', 'healthy'], final: 'healthy' },
  { title: 'repeated failures after going down report nothing more', rise: 2, fall: 3, from: 'healthy', steps: 'FFFFFF', returns: ['-', '-', 'unhealthy', '-', '-', '-'], final: 'unhealthy' },
  { title: 'repeated passes while healthy report nothing', rise: 2, fall: 3, from: 'healthy', steps: 'PPPP', returns: ['-', '-', '-', '-'], final: 'healthy' },
  { title: 'rise=1 fall=1 flips on every change of result', rise: 1, fall: 1, steps: 'PFFPP', returns: ['healthy', 'unhealthy', '-', 'healthy', '-'], final: 'healthy' },
  { title: 'a full cycle reports each change exactly once', rise: 2, fall: 3, steps: 'PFFFFPP', returns: ['healthy', '-', '-', 'unhealthy', '-', '-', 'healthy'], final: 'healthy' },
];

for (const c of CASES) {
  test(`${c.title} (rise=${c.rise}, fall=${c.fall}, ${c.from ?? 'unknown'} + ${c.steps})`, (t) => {
    const h = new Hysteresis(c.rise, c.fall);
    if (c.from !== undefined) h.set(c.from);
    const got = [...c.steps].map((s) => h.record((s as Step) === 'P') ?? '-');
    t.deepEqual(got, c.returns);
    t.is(h.state, c.final);
  });
}

test('a fresh Hysteresis is unknown', (t) => {
  t.is(new Hysteresis(2, 3).state, 'unknown');
});

test('set() forces the state, returns it, and restarts the counters', (t) => {
  const h = new Hysteresis(2, 3);
  h.set('healthy');
  h.record(false);
  h.record(false);
  t.is(h.set('healthy'), 'healthy');
  // Without the reset the next failure would be the third in a row.
  t.is(h.record(false), undefined);
  t.is(h.record(false), undefined);
  t.is(h.state, 'healthy');
  t.is(h.record(false), 'unhealthy');
});
