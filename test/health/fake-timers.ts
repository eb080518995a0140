import type { Timers } from '../../src/health/active-check.js';

interface Task {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets every queued promise callback run (a macrotask turn, not a wait for time to pass). */
export const flushMicrotasks = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A virtual clock with a timer queue: `setTimeout` only records `{at, fn}`; `advance(ms)` runs
 * the due callbacks in time order (ties in the order they were set) and lets promises settle
 * after each, so code under test that awaits between timers behaves as with real time.
 */
export class FakeTimers implements Timers {
  now = 0;
  /** Every delay passed to setTimeout, in call order. */
  readonly delays: number[] = [];
  private seq = 0;
  private tasks: Task[] = [];

  readonly clock = (): number => this.now;

  setTimeout = (fn: () => void, ms: number): unknown => {
    this.seq += 1;
    this.tasks.push({ id: this.seq, at: this.now + Math.max(0, ms), fn });
    this.delays.push(ms);
    return this.seq;
  };

  clearTimeout = (handle: unknown): void => {
    this.tasks = this.tasks.filter((task) => task.id !== handle);
  };

  /** Callbacks set and not yet run or cleared. */
  get pending(): number {
    return this.tasks.length;
  }

  /** Runs every callback due until `now + ms`, then leaves the clock there. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    await flushMicrotasks();
    for (;;) {
      let next: Task | undefined;
      for (const task of this.tasks) {
        if (task.at <= target && (next === undefined || task.at < next.at)) next = task;
      }
      if (next === undefined) break;
      this.tasks.splice(this.tasks.indexOf(next), 1);
      this.now = next.at;
      next.fn();
      await flushMicrotasks();
    }
    this.now = target;
  }
}
