import test from 'ava';
import { countFinished, type EngineTotals, type TerminationCause } from '../../src/engine/request-record.js';

const CASES: Array<[number, TerminationCause, 'success' | 'failed' | 'rejected']> = [
  [200, '-', 'success'],
  [404, '-', 'success'],
  [503, '-', 'failed'],
  [502, 'UF', 'failed'],
  [504, 'UT', 'failed'],
  [503, 'UH', 'failed'],
  [503, 'UO', 'failed'],
  [200, 'UC', 'failed'],
  [499, 'DC', 'failed'],
  [429, 'RL', 'rejected'],
  [404, 'NR', 'rejected'],
  [403, 'DN', 'rejected'],
  [400, 'DPE', 'rejected'],
];

for (const [status, termination, expected] of CASES) {
  test(`status ${status} ending ${termination} counts as ${expected}`, (t) => {
    const totals: EngineTotals = { requests: 0, success: 0, failed: 0, rejected: 0, retries: 0, rateLimited: 0, inFlight: 0 };
    countFinished(totals, status, termination);
    t.deepEqual([totals.requests, totals.success, totals.failed, totals.rejected], [1, +(expected === 'success'), +(expected === 'failed'), +(expected === 'rejected')]);
    t.is(totals.requests, totals.success + totals.failed + totals.rejected);
  });
}
