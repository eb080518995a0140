/**
 * Per-client-IP token buckets for a pool's `rate_limit`: `rps` tokens a second, at most
 * `burst` saved. A request without a token is answered 429 with Retry-After. Buckets of
 * clients that went quiet are swept, so memory stays bounded by the active clients.
 */
import type { RateLimitConfig } from '../config/types.js';

interface Bucket {
  tokens: number;
  at: number;
}

const SWEEP_EVERY = 10_000;

export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  private checks = 0;

  constructor(
    public config: RateLimitConfig,
    private readonly clock: () => number,
  ) {}

  /** Takes a token for `clientIp`; returns 0 when allowed, else the seconds until one is free. */
  take(clientIp: string): number {
    const now = this.clock();
    const { rps, burst } = this.config;
    if (++this.checks % SWEEP_EVERY === 0) this.sweep(now);
    let bucket = this.buckets.get(clientIp);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      this.buckets.set(clientIp, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rps);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rps));
  }

  get clients(): number {
    return this.buckets.size;
  }

  /** Forgets buckets that have refilled completely (their clients are quiet). */
  private sweep(now: number): void {
    const fullAfterMs = (this.config.burst / this.config.rps) * 1000;
    for (const [ip, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(ip);
  }
}
