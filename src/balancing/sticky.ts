/**
 * Sticky sessions by cookie, on top of any strategy: the first response carries a cookie
 * naming its backend (by a hash of its id, so no address leaks); later requests that bring it
 * go to that backend while it is available, and are balanced as usual when it is not.
 */
import { fnv1a32 } from './rendezvous-hash.js';
import type { Balanceable } from './strategy.js';

/** The cookie value for a backend: 8 hex digits of its id's hash. */
export function stickyValue(id: string): string {
  return fnv1a32(id).toString(16).padStart(8, '0');
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

/** The available backend named by a sticky cookie value, if any. */
export function stickyBackend<T extends Balanceable>(upstreams: readonly T[], value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  for (const u of upstreams) if (stickyValue(u.id) === value) return u.isAvailable() ? u : undefined;
  return undefined;
}

/** The Set-Cookie header value that pins a client to backend `id`. */
export function stickyCookie(name: string, id: string, ttlMs: number, secure: boolean): string {
  return `${name}=${stickyValue(id)}; Path=/; Max-Age=${Math.round(ttlMs / 1000)}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
