/** Bearer-token checks for the admin API, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Why a request was refused, or undefined when it may proceed. */
export type AuthFailure = 'missing' | 'malformed' | 'wrong';

/** Hashing first makes the comparison constant-time whatever the lengths of the two tokens. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Checks an `Authorization` header against `token`; with no token configured everything passes. */
export function checkBearer(header: string | undefined, token: string | undefined): AuthFailure | undefined {
  if (token === undefined) return undefined;
  if (header === undefined || header.trim() === '') return 'missing';
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (match === null) return 'malformed';
  return timingSafeEqual(digest(match[1]!), digest(token)) ? undefined : 'wrong';
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}
