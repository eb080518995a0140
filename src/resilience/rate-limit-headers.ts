/**
 * The header fields of a 429 from velo's rate limiter: `Retry-After` (RFC 9110 §10.2.3) and the
 * IETF `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-11
 * (structured-field Lists, RFC 9651), e.g.
 *
 *     Retry-After: 1
 *     RateLimit-Policy: "login";q=2;w=1
 *     RateLimit: "login";r=0;t=1
 *
 * A token bucket is advertised as quota `q` = `burst` requests per window `w` = the whole
 * seconds the bucket takes to refill from empty (`ceil(burst / rps)`): a client that sends `q`
 * requests every `w` seconds never exceeds `rps`. In `RateLimit`, `r` is the whole tokens left
 * and `t` the whole seconds until the bucket is full again.
 */
import type { TokenBucketRate, TokenTake } from './token-buckets.js';

/** Lower-case field name -> value, ready for `writeHead`. */
export type RateLimitHeaders = Record<string, string>;

/**
 * The fields for a refused request under policy `name` (an sf-string: letters, digits, `.`,
 * `_`, `-`, as config validation guarantees) with bucket `rate`, after the refused `take`.
 */
export function rateLimitedHeaders(name: string, rate: TokenBucketRate, take: TokenTake): RateLimitHeaders {
  return {
    'retry-after': String(Math.max(1, Math.ceil(take.retryAfterMs / 1000))),
    'ratelimit-policy': `"${name}";q=${rate.burst};w=${Math.max(1, Math.ceil(rate.burst / rate.rps))}`,
    'ratelimit': `"${name}";r=${take.remaining};t=${Math.ceil(take.fullInMs / 1000)}`,
  };
}
