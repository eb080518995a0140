/**
 * Token buckets keyed by client IP for one rate: `rps` tokens a second, at most `burst` saved,
 * one token per request. Buckets of clients that went quiet are swept, so memory stays bounded
 * by the active clients.
 */

/** The rate of one set of buckets. */
export interface TokenBucketRate {
  /** Tokens added per second (> 0). */
  rps: number;
  /** Bucket size: requests a client may make at once (>= 1). */
  burst: number;
}

/** What one `take` found, in whole requests and ms. */
export interface TokenTake {
  allowed: boolean;
  /** Whole tokens left after this request (0 when refused). */
  remaining: number;
  /** When refused, ms until one token is back; 0 when allowed. */
  retryAfterMs: number;
  /** Ms until the bucket is full again (0 when it is full). */
  fullInMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const SWEEP_EVERY = 10_000;

/** One rate's buckets, one per key (a client IP); created full, swept once full again. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private checks = 0;

  /** `rate` may be replaced at any time (a reload); tokens are clamped to the new burst. */
  constructor(public rate: TokenBucketRate) {}

  /** Takes a token from `key`'s bucket at `now` (ms); a new key starts with a full bucket. */
  take(key: string, now: number): TokenTake {
    const { rps, burst } = this.rate;
    if (++this.checks % SWEEP_EVERY === 0) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rps);
      bucket.at = now;
    }
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterMs: allowed ? 0 : ((1 - bucket.tokens) / rps) * 1000,
      fullInMs: ((burst - bucket.tokens) / rps) * 1000,
    };
  }

  /** Clients with a bucket. */
  get size(): number {
    return this.buckets.size;
  }

  /** Forgets buckets that have refilled completely (their clients are quiet). */
  private sweep(now: number): void {
    const fullAfterMs = (this.rate.burst / this.rate.rps) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(key);
  }
}
