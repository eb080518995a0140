import test from 'ava';
import { VerdictBatch } from '../../src/cluster/verdict-batch.js';

type Step = [pool: string, backend: string, verdict: 'success' | 'failure', status: number];
const A = 'http://a:1';
const B = 'http://b:1';

const cases: Array<{ name: string; steps: Step[]; runs: unknown[] }> = [
  { name: 'nothing added', steps: [], runs: [] },
  {
    name: 'round robin over two backends: one run each',
    steps: [['web', A, 'success', 200], ['web', B, 'success', 200], ['web', A, 'success', 200], ['web', B, 'success', 200], ['web', A, 'success', 200]],
    runs: [['web', A, 'success', 200, 3], ['web', B, 'success', 200, 2]],
  },
  {
    name: 'a failure splits its backend\'s runs, in order',
    steps: [['web', A, 'success', 200], ['web', A, 'failure', 502], ['web', B, 'success', 200], ['web', A, 'success', 200], ['web', A, 'failure', 502], ['web', A, 'failure', 502]],
    runs: [['web', A, 'success', 200, 1], ['web', A, 'failure', 502, 1], ['web', B, 'success', 200, 1], ['web', A, 'success', 200, 1], ['web', A, 'failure', 502, 2]],
  },
  {
    name: 'a different status is a different run (outlier detection reads it)',
    steps: [['web', A, 'success', 200], ['web', A, 'success', 404], ['web', A, 'success', 404]],
    runs: [['web', A, 'success', 200, 1], ['web', A, 'success', 404, 2]],
  },
  {
    name: 'the same backend URL in two pools is two backends',
    steps: [['web', A, 'success', 200], ['api', A, 'success', 200], ['web', A, 'success', 200]],
    runs: [['web', A, 'success', 200, 2], ['api', A, 'success', 200, 1]],
  },
];
for (const c of cases) {
  test(`VerdictBatch: ${c.name}`, (t) => {
    const batch = new VerdictBatch();
    for (const [pool, backend, verdict, status] of c.steps) batch.add(pool, backend, verdict, status);
    t.is(batch.size, c.runs.length);
    t.deepEqual(batch.drain(), c.runs);
  });
}

test('VerdictBatch: each backend\'s sequence is kept exactly, and drain starts afresh', (t) => {
  const batch = new VerdictBatch();
  const sent: Step[] = [];
  for (let i = 0; i < 200; i++) {
    const step: Step = ['web', i % 3 === 0 ? A : B, i % 7 === 0 ? 'failure' : 'success', i % 7 === 0 ? 0 : 200];
    sent.push(step);
    batch.add(...step);
  }
  const expanded = batch.drain().flatMap(([pool, backend, verdict, status, count]) => Array.from({ length: count }, () => [pool, backend, verdict, status]));
  for (const backend of [A, B]) t.deepEqual(expanded.filter((s) => s[1] === backend), sent.filter((s) => s[1] === backend));
  t.is(batch.size, 0);
  batch.add('web', A, 'success', 200);
  t.deepEqual(batch.drain(), [['web', A, 'success', 200, 1]]);
});
