/**
 * Sticky sessions by cookie, on top of any strategy: a response carries a signed cookie naming
 * its backend and an expiry; later requests that bring a valid one go to that backend while it
 * is available, and are balanced as usual when it is not. A cookie velo did not sign, or signed
 * with another secret, for another pool, or that has expired, counts as no cookie at all.
 *
 * Value: `<backend>.<expires>.<mac>` (docs/security.md), all base64url or digits, so no
 * quoting is needed (RFC 6265 §4.1.1 cookie-octet):
 * - `backend`: 16 characters, HMAC-SHA256(secret, "velo-sticky-backend" 0 pool 0 id) cut to
 *   12 bytes; names the backend without revealing its address.
 * - `expires`: wall-clock Unix seconds after which velo ignores the cookie (the browser's
 *   Max-Age is only advice: a client can replay an old value).
 * - `mac`: HMAC-SHA256(secret, "velo-sticky" 0 pool 0 backend "." expires), base64url, checked
 *   in constant time (OWASP Session Management Cheat Sheet; RFC 2104).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StickyConfig } from '../config/types.js';
import type { Balanceable } from './strategy.js';

/** Who signs: the secret and the pool, so a cookie never pins in another pool. */
export interface StickyKey {
  /** `sticky.secret` (UTF-8) or velo's random per-start secret. */
  secret: string | Buffer;
  pool: string;
}

/** Why a presented value was refused: not velo's format, a MAC that does not match, or past its expiry. */
export type StickyRefusal = 'malformed' | 'forged' | 'expired';

/** A verified value: the backend tag it names and its expiry (Unix seconds). */
export type StickyVerdict = { ok: true; backend: string; expiresAt: number } | { ok: false; reason: StickyRefusal };

const VALUE = /^([A-Za-z0-9_-]{16})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function hmac(key: StickyKey, label: string, data: string): string {
  return createHmac('sha256', key.secret).update(`${label}\0${key.pool}\0${data}`, 'utf8').digest('base64url');
}

/** The 16-character tag naming backend `id` in cookies of `key`'s pool. */
export function backendTag(key: StickyKey, id: string): string {
  return hmac(key, 'velo-sticky-backend', id).slice(0, 16);
}

/** A signed cookie value pinning to backend `id` until `expiresAt` (Unix seconds, integer). */
export function signStickyValue(key: StickyKey, id: string, expiresAt: number): string {
  const payload = `${backendTag(key, id)}.${Math.floor(expiresAt)}`;
  return `${payload}.${hmac(key, 'velo-sticky', payload)}`;
}

/**
 * Checks a presented value at `now` (Unix seconds): its format, its MAC in constant time, then
 * its expiry (expired when `expiresAt <= now`). Never throws.
 */
export function verifyStickyValue(key: StickyKey, value: string, now: number): StickyVerdict {
  const m = VALUE.exec(value);
  if (m === null) return { ok: false, reason: 'malformed' };
  const payload = `${m[1]}.${m[2]}`;
  const expected = Buffer.from(hmac(key, 'velo-sticky', payload), 'latin1');
  const presented = Buffer.from(m[3]!, 'latin1');
  // Both 43 characters (the regex), as timingSafeEqual requires.
  if (!timingSafeEqual(expected, presented)) return { ok: false, reason: 'forged' };
  const expiresAt = Number(m[2]);
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, backend: m[1]!, expiresAt };
}

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header value carrying `value` for `ttlMs` (RFC 6265 §4.1). */
export function stickyCookie(name: string, value: string, ttlMs: number, secure: boolean): string {
  return `${name}=${value}; Path=/; Max-Age=${Math.round(ttlMs / 1000)}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * The engine's sticky-session decisions for every pool: which backend a cookie pins, and when
 * to issue a new cookie. Pools without `sticky.secret` share one random 32-byte secret made
 * here, so their cookies stop verifying when the process restarts (clients are rebalanced once).
 */
export class StickySessions {
  /** Tags of backend ids per pool config; a reload makes new configs, so stale tags go with the old. */
  private readonly tags = new WeakMap<StickyConfig, Map<string, string>>();

  constructor(
    /** Wall-clock ms (the engine's `wallClock`), injectable so tests can expire cookies. */
    private readonly wallClock: () => number,
    private readonly randomSecret: Buffer = randomBytes(32),
  ) {}

  /** The signing key of a pool: its `sticky.secret`, else the per-start random one. */
  key(pool: string, config: StickyConfig): StickyKey {
    return { secret: config.secret ?? this.randomSecret, pool };
  }

  /** Now in Unix seconds. */
  private now(): number {
    return Math.floor(this.wallClock() / 1000);
  }

  /**
   * The backend a cookie `value` validly pins to, when it is in `upstreams` and available;
   * undefined for no cookie, a refused one, an unknown backend or an unavailable one.
   */
  pinned<T extends Balanceable>(pool: string, config: StickyConfig, upstreams: readonly T[], value: string | undefined): T | undefined {
    if (value === undefined) return undefined;
    const verdict = verifyStickyValue(this.key(pool, config), value, this.now());
    if (!verdict.ok) return undefined;
    for (const u of upstreams) if (this.tagOf(pool, config, u.id) === verdict.backend) return u.isAvailable() ? u : undefined;
    return undefined;
  }

  /**
   * The Set-Cookie value to send with a response from backend `id`, or undefined when the
   * client's cookie already validly pins `id` with more than half its TTL left (so an active
   * client's pin is renewed, at most once per half TTL).
   */
  setCookie(pool: string, config: StickyConfig, id: string, value: string | undefined, secure: boolean): string | undefined {
    const key = this.key(pool, config);
    const now = this.now();
    const ttlSeconds = Math.max(1, Math.round(config.ttlMs / 1000));
    if (value !== undefined) {
      const verdict = verifyStickyValue(key, value, now);
      if (verdict.ok && verdict.backend === this.tagOf(pool, config, id) && verdict.expiresAt - now > ttlSeconds / 2) return undefined;
    }
    return stickyCookie(config.cookie, signStickyValue(key, id, now + ttlSeconds), ttlSeconds * 1000, secure);
  }

  private tagOf(pool: string, config: StickyConfig, id: string): string {
    let tags = this.tags.get(config);
    if (tags === undefined) this.tags.set(config, (tags = new Map()));
    const cacheKey = `${pool}\0${id}`;
    let tag = tags.get(cacheKey);
    if (tag === undefined) tags.set(cacheKey, (tag = backendTag(this.key(pool, config), id)));
    return tag;
  }
}
