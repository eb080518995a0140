/**
 * A pool's `rate_limit`: the first of its `routes` whose `path_prefix` and `methods` match a
 * request takes a token from that route's bucket for the client IP; any other request takes
 * one from the pool-wide bucket when that is enabled. A request without a token is refused
 * (the engine answers 429) with `Retry-After` and the IETF RateLimit fields. Buckets are per
 * (policy, client IP) and survive a reload for every policy that keeps its name.
 */
import type { RateLimitConfig, RateLimitRoute } from '../config/types.js';
import { normalizeRequestPath } from './request-path.js';
import { rateLimitedHeaders, type RateLimitHeaders } from './rate-limit-headers.js';
import { TokenBuckets, type TokenBucketRate } from './token-buckets.js';

/** The policy name of the pool-wide bucket in the RateLimit header fields; no route may take it. */
export const POOL_POLICY_NAME = 'pool';

/** Why a request was refused: the policy that refused it and the 429's header fields. */
export interface RateLimitRefusal {
  /** The route's name, or `pool` for the pool-wide bucket. */
  policy: string;
  /** Retry-After, RateLimit-Policy and RateLimit, lower-case names. */
  headers: RateLimitHeaders;
}

/** One policy of a pool's limiter: its name, its rate and the local buckets that enforce it. */
export interface RateLimitPolicy {
  name: string;
  rate: TokenBucketRate;
  buckets: TokenBuckets;
}

interface RouteLimit {
  route: RateLimitRoute;
  /** Normalized as request paths are (`normalizeRequestPath`). */
  prefix: string;
  buckets: TokenBuckets;
}

/** One pool's limiter: the pool-wide bucket set and one per route, all keyed by client IP. */
export class RateLimiter {
  private settings!: RateLimitConfig;
  private readonly poolBuckets: TokenBuckets;
  private routes: RouteLimit[] = [];

  /** `clock` is monotonic ms (the engine's). */
  constructor(
    config: RateLimitConfig,
    private readonly clock: () => number,
  ) {
    this.poolBuckets = new TokenBuckets({ rps: config.rps, burst: config.burst });
    this.config = config;
  }

  get config(): RateLimitConfig {
    return this.settings;
  }

  /** Applies a reloaded config; buckets of the pool and of routes that keep their name stay. */
  set config(config: RateLimitConfig) {
    this.settings = config;
    this.poolBuckets.rate = { rps: config.rps, burst: config.burst };
    const previous = new Map(this.routes.map((r) => [r.route.name, r.buckets]));
    this.routes = config.routes.map((route) => {
      const rate = { rps: route.rps, burst: route.burst };
      const kept = previous.get(route.name);
      if (kept !== undefined) kept.rate = rate;
      return { route, prefix: normalizeRequestPath(route.pathPrefix), buckets: kept ?? new TokenBuckets(rate) };
    });
  }

  /**
   * Takes a token for one request (`method` as sent, `target` the request target with its
   * query) from `clientIp`'s bucket of the policy that governs it. Returns undefined when the
   * request may pass (or nothing limits it), else the refusal.
   */
  take(method: string, target: string, clientIp: string): RateLimitRefusal | undefined {
    const policy = this.policyFor(method, target);
    if (policy === undefined) return undefined;
    const took = policy.buckets.take(clientIp, this.clock());
    if (took.allowed) return undefined;
    return { policy: policy.name, headers: rateLimitedHeaders(policy.name, policy.rate, took) };
  }

  /**
   * The policy that governs a request (its first matching route, else the pool-wide one), or
   * undefined when nothing limits it: its name, rate and this process's buckets for it. A
   * shared limiter (shared-rate-limit.ts) keys its own buckets by pool, name and client IP.
   */
  policyFor(method: string, target: string): RateLimitPolicy | undefined {
    const route = this.routeFor(method, target);
    if (route === undefined && !this.settings.enabled) return undefined;
    const buckets = route?.buckets ?? this.poolBuckets;
    return { name: route?.route.name ?? POOL_POLICY_NAME, rate: buckets.rate, buckets };
  }

  /** True when some request to this pool may be limited (the pool-wide limit or any route). */
  get active(): boolean {
    return this.settings.enabled || this.routes.length > 0;
  }

  /** Client buckets held, over every policy. */
  get clients(): number {
    return this.routes.reduce((n, r) => n + r.buckets.size, this.poolBuckets.size);
  }

  private routeFor(method: string, target: string): RouteLimit | undefined {
    if (this.routes.length === 0) return undefined;
    const path = normalizeRequestPath(target);
    const upper = method.toUpperCase();
    return this.routes.find((r) => path.startsWith(r.prefix) && (r.route.methods === undefined || r.route.methods.includes(upper)));
  }
}
