/**
 * `cluster.redis` as ioredis connection options, and as text safe to show (password hidden).
 * Accepted forms (the config schema checks the scheme):
 *
 *   redis://[user:pass@]host[:port][/db]     TCP, port 6379 by default
 *   rediss://[user:pass@]host[:port][/db]    TCP with TLS (certificates verified)
 *   unix:///path/to/redis.sock[?db=N]        a unix socket (tests, same-host Redis)
 *
 * `redis://` and `rediss://` follow the IANA provisional registrations
 * (https://www.iana.org/assignments/uri-schemes/prov/redis); `unix://` is velo's, since
 * ioredis takes socket paths but not a URL for them.
 */
import type { RedisOptions } from 'ioredis';

/** Where and how to connect: host/port or path, credentials, db, TLS. */
export type RedisTarget = Pick<RedisOptions, 'host' | 'port' | 'path' | 'username' | 'password' | 'db' | 'tls'>;

/**
 * The connection options of a `cluster.redis` URL. Throws a `TypeError` for a URL the schema
 * would have refused (another scheme, a bad db number).
 */
export function redisTarget(url: string): RedisTarget {
  const parsed = new URL(url);
  const db = (text: string | null): number | undefined => {
    if (text === null || text === '') return undefined;
    if (!/^\d+$/.test(text)) throw new TypeError(`"${url}": the database must be a number, got "${text}"`);
    return Number(text);
  };
  if (parsed.protocol === 'unix:') {
    const path = decodeURIComponent(parsed.pathname);
    return { path, ...optional('db', db(parsed.searchParams.get('db'))) };
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new TypeError(`"${url}" is not a redis://, rediss:// or unix:// URL`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...optional('username', parsed.username === '' ? undefined : decodeURIComponent(parsed.username)),
    ...optional('password', parsed.password === '' ? undefined : decodeURIComponent(parsed.password)),
    ...optional('db', db(parsed.pathname.slice(1))),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL with its password replaced by `***`, for logs, events, the snapshot and the admin API. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL at all: show nothing of it that could be a secret.
    return '(invalid Redis URL)';
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [k in K]: V });
}
