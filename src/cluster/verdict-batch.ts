/**
 * A worker's passive verdicts on their way to the control plane, as runs: consecutive equal
 * verdicts on one backend travel as one entry with a count, so a busy worker sends a few entries
 * per batch instead of one per request. Each backend's verdicts keep their order (a breaker
 * counts consecutive failures); the order between backends is not kept (each has its own
 * breaker and outlier record).
 */
import type { Verdict } from './messages.js';

/** Verdicts waiting to be sent, run-length encoded per backend. */
export class VerdictBatch {
  private runs: Verdict[] = [];
  /** Each backend's last run in `runs`, the only one a new verdict may extend. */
  private readonly last = new Map<string, Verdict>();

  get size(): number {
    return this.runs.length;
  }

  /** Adds one verdict (`status` 0 = no response). */
  add(pool: string, backend: string, verdict: Verdict[2], status: number): void {
    const key = `${pool}\u0001${backend}`;
    const run = this.last.get(key);
    if (run !== undefined && run[2] === verdict && run[3] === status) {
      run[4] += 1;
      return;
    }
    const next: Verdict = [pool, backend, verdict, status, 1];
    this.runs.push(next);
    this.last.set(key, next);
  }

  /** The runs added since the previous call, oldest first; the batch is empty afterwards. */
  drain(): Verdict[] {
    const runs = this.runs;
    this.runs = [];
    this.last.clear();
    return runs;
  }
}
