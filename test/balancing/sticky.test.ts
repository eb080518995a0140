/**
 * Signed sticky cookies: a value verifies only with the secret and pool that made it, only
 * unaltered, and only before its expiry; the sessions object pins and re-issues by those rules.
 */
import test from 'ava';
import { backendTag, readCookie, signStickyValue, StickySessions, verifyStickyValue, type StickyKey } from '../../src/balancing/sticky.js';
import { fakes } from './fake-upstream.js';

const KEY: StickyKey = { secret: 'k'.repeat(32), pool: 'web' };
const NOW = 1_700_000_000;
const VALUE = signStickyValue(KEY, 'http://10.0.0.1:8080', NOW + 3600);

/** `value` with the character at `index` replaced by a different one of the same alphabet. */
function flip(value: string, index: number): string {
  const c = value[index]!;
  const swapped = c === 'A' ? 'B' : /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : 'A';
  return value.slice(0, index) + swapped + value.slice(index + 1);
}

test('a signed value verifies and names its backend and expiry; the address does not appear in it', (t) => {
  t.regex(VALUE, /^[A-Za-z0-9_-]{16}\.\d+\.[A-Za-z0-9_-]{43}$/);
  t.deepEqual(verifyStickyValue(KEY, VALUE, NOW), { ok: true, backend: backendTag(KEY, 'http://10.0.0.1:8080'), expiresAt: NOW + 3600 });
  t.false(VALUE.includes('10.0.0.1'));
});

const REFUSED: Array<[string, string, StickyKey, number, string]> = [
  ['a changed backend tag', flip(VALUE, 3), KEY, NOW, 'forged'],
  ['a changed expiry', VALUE.replace(`.${NOW + 3600}.`, `.${NOW + 999_999}.`), KEY, NOW, 'forged'],
  ['a changed MAC', flip(VALUE, VALUE.length - 5), KEY, NOW, 'forged'],
  ['another secret', VALUE, { ...KEY, secret: 'j'.repeat(32) }, NOW, 'forged'],
  ['another pool', VALUE, { ...KEY, pool: 'api' }, NOW, 'forged'],
  ['made without the secret (tag of another key)', signStickyValue({ secret: 'guess', pool: 'web' }, 'http://10.0.0.1:8080', NOW + 3600), KEY, NOW, 'forged'],
  ['expiry reached', VALUE, KEY, NOW + 3600, 'expired'],
  ['expiry passed', VALUE, KEY, NOW + 7200, 'expired'],
  ['the old unsigned format', '1a2b3c4d', KEY, NOW, 'malformed'],
  ['empty', '', KEY, NOW, 'malformed'],
  ['a MAC one character short', VALUE.slice(0, -1), KEY, NOW, 'malformed'],
  ['an extra part', `${VALUE}.x`, KEY, NOW, 'malformed'],
  ['a non-ASCII MAC', VALUE.slice(0, -1) + 'é', KEY, NOW, 'malformed'],
];

for (const [what, value, key, now, reason] of REFUSED) {
  test(`refused: ${what} (${reason})`, (t) => {
    t.deepEqual(verifyStickyValue(key, value, now), { ok: false, reason } as never);
  });
}

test('pinned(): the available backend a valid cookie names; nothing for unavailable, unknown, forged or expired', (t) => {
  let nowMs = NOW * 1000;
  const sessions = new StickySessions(() => nowMs, Buffer.alloc(32, 7));
  const config = { enabled: true, cookie: 'route', ttlMs: 3_600_000 };
  const ups = fakes('a', 'b', 'c');
  const cookie = sessions.setCookie('web', config, 'b', undefined, false)!;
  t.regex(cookie, /^route=[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
  const value = readCookie(`x=1; ${cookie.split(';')[0]!}`, 'route')!;
  t.is(sessions.pinned('web', config, ups, value), ups[1]);
  t.is(sessions.pinned('other', config, ups, value), undefined, 'another pool');
  t.is(sessions.pinned('web', config, fakes('a', 'c'), value), undefined, 'backend gone');
  ups[1]!.available = false;
  t.is(sessions.pinned('web', config, ups, value), undefined, 'backend unavailable');
  ups[1]!.available = true;
  t.is(sessions.pinned('web', { ...config, secret: 's'.repeat(32) }, ups, value), undefined, 'configured secret differs from the random one');
  t.is(new StickySessions(() => nowMs).pinned('web', config, ups, value), undefined, 'a restart (new random secret) forgets it');
  nowMs += 3_600_000;
  t.is(sessions.pinned('web', config, ups, value), undefined, 'expired');
});

test('setCookie(): none while a valid pin to the same backend has over half its TTL left; a fresh one otherwise', (t) => {
  let nowMs = NOW * 1000;
  const sessions = new StickySessions(() => nowMs, Buffer.alloc(32, 7));
  const config = { enabled: true, cookie: 'route', ttlMs: 600_000, secret: 'z'.repeat(32) };
  const value = readCookie(sessions.setCookie('web', config, 'a', undefined, true)!, 'route')!;
  t.true(sessions.setCookie('web', config, 'a', undefined, true)!.endsWith('; Secure'));
  t.is(sessions.setCookie('web', config, 'a', value, false), undefined);
  t.regex(sessions.setCookie('web', config, 'b', value, false)!, /^route=/, 'answered by another backend');
  t.regex(sessions.setCookie('web', config, 'a', flip(value, 2), false)!, /^route=/, 'tampered');
  nowMs += 301_000;
  const renewed = sessions.setCookie('web', config, 'a', value, false)!;
  t.regex(renewed, /^route=/, 'past half its TTL: renewed');
  t.is(verifyStickyValue(sessions.key('web', config), readCookie(renewed, 'route')!, NOW + 301).ok, true);
});
