/**
 * One client's token bucket in Redis, taken from atomically by one Lua script: the same
 * arithmetic as the local `TokenBuckets.take` (token-buckets.ts): a bucket holds at most
 * `burst` tokens, refills continuously at `rps` tokens a second, starts full, and each request
 * takes one token or is refused. This is the classic token bucket (Tanenbaum & Wetherall,
 * *Computer Networks*, 5th ed., §5.4.2; the "lazy refill on read" form used by e.g. Stripe's
 * and Envoy's limiters): nothing ticks, the refill since the last visit is added on each take.
 *
 * The clock is Redis's own (`TIME`, seconds and microseconds), so the instances' clocks do not
 * matter. A script that calls TIME is safe to replicate because Redis replicates scripts by
 * their effects (the only mode since Redis 7.0; the default since 5.0):
 * https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 *
 * Storage: a hash `{t: tokens, at: ms}` per bucket with a PEXPIRE of the time it takes to
 * refill completely, after which a missing key and a full bucket are the same thing, so
 * quiet clients cost no memory.
 */
import type { TokenBucketRate, TokenTake } from '../../resilience/token-buckets.js';

/** The name the script is defined under on the ioredis client (`defineCommand`, EVALSHA with EVAL fallback). */
export const TAKE_TOKEN_COMMAND = 'veloTakeToken';

/**
 * KEYS[1] the bucket; ARGV[1] rps (> 0), ARGV[2] burst (>= 1). Returns `{allowed (0|1),
 * tokens left (a decimal string: Lua numbers become integers in replies)}`.
 */
export const TAKE_TOKEN_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(saved[1])
local at = tonumber(saved[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rps)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local fullInMs = (burst - tokens) / rps * 1000
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(fullInMs)))
return {allowed, string.format('%.17g', tokens)}
`;

/** The ioredis client once the script is defined on it. */
export interface TakeTokenCommand {
  [TAKE_TOKEN_COMMAND](key: string, rps: number, burst: number): Promise<[number, string]>;
}

/**
 * The key of one client's bucket for one policy of one pool: `{prefix}rl:{pool}:{policy}:{clientIp}`.
 * Instances that share `prefix` share the bucket.
 */
export function bucketKey(prefix: string, pool: string, policy: string, clientIp: string): string {
  return `${prefix}rl:${pool}:${policy}:${clientIp}`;
}

/**
 * The script's reply as a `TokenTake` for `rate`, computed as `TokenBuckets.take` does, so the
 * 429's `Retry-After` and `RateLimit` fields read the same whichever store decided. Throws a
 * `TypeError` on a reply that is not `[0|1, number]`.
 */
export function tokenTakeOf(reply: unknown, rate: TokenBucketRate): TokenTake {
  if (!Array.isArray(reply) || reply.length !== 2) throw new TypeError(`unexpected token bucket reply ${JSON.stringify(reply)}`);
  const allowed = Number(reply[0]) === 1;
  const tokens = Number(reply[1]);
  if (!Number.isFinite(tokens)) throw new TypeError(`unexpected token count ${JSON.stringify(reply[1])}`);
  return {
    allowed,
    remaining: Math.floor(tokens),
    retryAfterMs: allowed ? 0 : ((1 - tokens) / rate.rps) * 1000,
    fullInMs: ((rate.burst - tokens) / rate.rps) * 1000,
  };
}
