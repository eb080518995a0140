/**
 * Rate limiting beyond one process: with workers the primary holds the buckets (so a client is
 * limited once, whichever worker its connection landed on); with `cluster.redis` the buckets are
 * in Redis (so it is limited once across instances). The engine asks a `SharedRateLimit` only
 * for requests some policy governs, and never waits on it for long: an implementation answers
 * within its own bounded time and falls back to the pool's local buckets on any failure.
 */
import type { RateLimitRefusal } from './rate-limit.js';

/** Where a pool's rate-limit decisions are made when they are not this process's alone. */
export interface SharedRateLimit {
  /**
   * Takes a token for one request to pool `pool` (by name) governed by `policy` (the route's
   * name or `pool`): `method` as sent, `target` with its query, `clientIp` as velo believes it.
   * Resolves to undefined when it may pass, else the refusal (headers as the local limiter
   * writes them). Never rejects: a slow or failed store answers from the local buckets.
   */
  take(pool: string, method: string, target: string, clientIp: string): Promise<RateLimitRefusal | undefined>;
}
