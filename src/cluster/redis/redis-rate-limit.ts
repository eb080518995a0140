/**
 * Rate limits shared by every instance on one Redis: each decision is one atomic script call
 * (token-bucket-script.ts) bounded by `timeoutMs` (50 ms by default). When the link is down
 * the script is not even tried; when it fails or is slower than the bound, the request is
 * decided by the pool's local buckets (`RateLimitPolicy.buckets`) and counted in `fallbacks`.
 * So a request never waits on Redis longer than the bound and never fails because of it; while
 * Redis is away, each instance limits on its own (a client may then get up to `burst` per
 * instance).
 */
import type { Pool } from '../../upstream/pool.js';
import { rateLimitedHeaders } from '../../resilience/rate-limit-headers.js';
import type { RateLimitPolicy, RateLimitRefusal } from '../../resilience/rate-limit.js';
import type { SharedRateLimit } from '../../resilience/shared-rate-limit.js';
import type { TokenTake } from '../../resilience/token-buckets.js';
import type { RedisLink } from './redis-link.js';
import { bucketKey, TAKE_TOKEN_COMMAND, TAKE_TOKEN_LUA, tokenTakeOf, type TakeTokenCommand } from './token-bucket-script.js';

/** The longest a request waits for Redis's answer before the local buckets decide, ms. */
export const RATE_LIMIT_TIMEOUT_MS = 50;

/** What the limiter reads from the engine: its pools (by name) and its monotonic clock (ms). */
export interface RateLimitEnv {
  readonly pools: readonly Pool[];
  readonly clock: () => number;
}

/** The engine's `SharedRateLimit` when `cluster.redis` is set. */
export class RedisRateLimit implements SharedRateLimit {
  /** Decisions made locally because Redis was down, failed or slower than `timeoutMs`. */
  fallbacks = 0;
  private readonly command: TakeTokenCommand;

  constructor(
    private readonly env: RateLimitEnv,
    private readonly link: Pick<RedisLink, 'ready' | 'cmd'>,
    private readonly prefix: string,
    private readonly timeoutMs = RATE_LIMIT_TIMEOUT_MS,
  ) {
    link.cmd.defineCommand(TAKE_TOKEN_COMMAND, { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
    this.command = link.cmd as unknown as TakeTokenCommand;
  }

  /** See `SharedRateLimit.take`; resolves within `timeoutMs` (at once when Redis is down), never rejects. */
  take(pool: string, method: string, target: string, clientIp: string): Promise<RateLimitRefusal | undefined> {
    const policy = this.env.pools.find((p) => p.name === pool)?.rateLimiter.policyFor(method, target);
    if (policy === undefined) return Promise.resolve(undefined);
    if (!this.link.ready) return Promise.resolve(this.local(policy, clientIp));
    return new Promise((resolve) => {
      let settled = false;
      // `take` undefined: Redis failed, was too slow or answered nonsense; the local buckets decide.
      const settle = (take: TokenTake | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(take === undefined ? this.local(policy, clientIp) : refusal(policy, take));
      };
      const timer = setTimeout(() => settle(undefined), this.timeoutMs);
      const decode = (reply: unknown): TokenTake | undefined => {
        try {
          return tokenTakeOf(reply, policy.rate);
        } catch {
          return undefined;
        }
      };
      try {
        const key = bucketKey(this.prefix, pool, policy.name, clientIp);
        this.command[TAKE_TOKEN_COMMAND](key, policy.rate.rps, policy.rate.burst).then(
          (reply) => settle(decode(reply)),
          () => settle(undefined),
        );
      } catch {
        settle(undefined);
      }
    });
  }

  private local(policy: RateLimitPolicy, clientIp: string): RateLimitRefusal | undefined {
    this.fallbacks += 1;
    return refusal(policy, policy.buckets.take(clientIp, this.env.clock()));
  }
}

function refusal(policy: RateLimitPolicy, took: TokenTake): RateLimitRefusal | undefined {
  if (took.allowed) return undefined;
  return { policy: policy.name, headers: rateLimitedHeaders(policy.name, policy.rate, took) };
}
