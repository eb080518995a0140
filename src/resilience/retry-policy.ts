/**
 * When a failed attempt may be tried again, and when: connect failures for every method,
 * anything else only for idempotent methods and only before a byte reached the client;
 * exponential backoff with full jitter; a retry budget so retries cannot multiply an outage.
 */
import type { RetryConfig } from '../config/types.js';

/** RFC 9110 section 9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** How an attempt failed, from the point of view of deciding a retry. */
export type AttemptFailure =
  /** Nothing was sent: refused, unreachable, connect timeout. */
  | 'connect'
  /** The request went out; no response headers in time. */
  | 'timeout'
  /** The request went out; the connection broke before response headers. */
  | 'reset'
  /** The backend answered with a status listed in `retry.on_status`. */
  | 'status';

export function mayRetry(failure: AttemptFailure, method: string, config: RetryConfig): boolean {
  if (failure === 'connect') return true;
  return isIdempotent(method) || config.retryNonIdempotent;
}

/** Full-jitter backoff (AWS architecture blog, "Exponential Backoff And Jitter"): U(0, min(cap, base * 2^n)). */
export function backoffMs(retryIndex: number, config: RetryConfig, random: () => number): number {
  const ceiling = Math.min(config.backoffCapMs, config.backoffBaseMs * 2 ** retryIndex);
  return Math.floor(random() * ceiling);
}

/** Most tokens a healthy pool can bank for bursts of retries. */
export const MAX_BANKED_RETRIES = 100;

/**
 * The retry budget. A retry may go when retry attempts in flight are below `budgetPercent` of
 * active requests (at least `budgetMinRetries`), as in Envoy. Beyond that it may spend a banked
 * token: every successful response banks `budgetPercent`/100 of one (at most
 * MAX_BANKED_RETRIES), as in Finagle. A healthy pool thus absorbs a burst of failures (a backend
 * crashing with many requests on it), while a pool in outage earns no tokens and gets only its
 * concurrent share: retries cannot multiply an outage.
 */
export class RetryBudget {
  active = 0;
  retriesInFlight = 0;
  banked = 0;

  /** A backend answered successfully: bank a fraction of a retry. */
  deposit(config: RetryConfig): void {
    if (this.banked < MAX_BANKED_RETRIES) this.banked = Math.min(MAX_BANKED_RETRIES, this.banked + config.budgetPercent / 100);
  }

  /** True when `allows` would say yes, without spending anything. */
  hasRoom(config: RetryConfig): boolean {
    return this.withinShare(config) || this.banked >= 1;
  }

  /** True when one more retry may be sent now; spends a banked token when over the concurrent share. */
  allows(config: RetryConfig): boolean {
    if (this.withinShare(config)) return true;
    if (this.banked < 1) return false;
    this.banked -= 1;
    return true;
  }

  /** Retry attempts in flight are below `budgetPercent` of active requests (at least `budgetMinRetries`). */
  private withinShare(config: RetryConfig): boolean {
    return this.retriesInFlight < Math.max(config.budgetMinRetries, Math.floor((this.active * config.budgetPercent) / 100));
  }
}
