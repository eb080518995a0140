/**
 * The admission queue of a pool: when every eligible backend is at `max_connections`, a
 * request waits here, first in first out, for up to the queue timeout. A full queue or an
 * expired wait is answered 503 with Retry-After by the caller.
 */
import type { QueueConfig } from '../config/types.js';

export interface Waiter {
  /** Called when a backend slot may be free; the waiter picks again. */
  wake: () => void;
  /** Called when the wait expired. */
  expire: () => void;
  timer?: NodeJS.Timeout;
}

export class AdmissionQueue {
  private readonly waiters: Waiter[] = [];

  constructor(public config: QueueConfig) {}

  get depth(): number {
    return this.waiters.length;
  }

  /** Adds a waiter at the back (or the front, for one that woke and found no slot); false when full. */
  enqueue(waiter: Waiter, front = false): boolean {
    if (!front && this.waiters.length >= this.config.size) return false;
    if (waiter.timer === undefined) {
      waiter.timer = setTimeout(() => {
        if (this.remove(waiter)) waiter.expire();
      }, this.config.timeoutMs);
      waiter.timer.unref();
    }
    if (front) this.waiters.unshift(waiter);
    else this.waiters.push(waiter);
    return true;
  }

  /** Takes a waiter out (client gone); true when it was queued. */
  remove(waiter: Waiter): boolean {
    const i = this.waiters.indexOf(waiter);
    if (i === -1) return false;
    this.waiters.splice(i, 1);
    return true;
  }

  /**
   * A backend slot was released: the oldest waiter tries again. Its deadline keeps running;
   * if it finds no slot it goes back to the front.
   */
  wakeOne(): void {
    this.waiters.shift()?.wake();
  }

  /** The waiter is done waiting (got a slot, or finished): stops its deadline. */
  release(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.timer = undefined;
    this.remove(waiter);
  }
}
