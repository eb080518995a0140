/**
 * The `lookup` the connector gives `net.connect` for a `single`-mode backend named by host name
 * (src/upstream/connector.ts): new connections go to the name's current address as velo's
 * resolver (the pool's `dns.servers`) knows it, not as the system resolver would. Answers are
 * per process and per pool: the control plane's DNS provider publishes each one it gets
 * (`publishAnswer`); a process without a provider (a forwarding worker) asks the same servers
 * itself on first use and again, in the background, once the answer's TTL (clamped to
 * `dns.min_ttl`..`dns.max_ttl`) has passed. A failed refresh keeps the last good answer.
 * Addresses are handed out in turn, so connections spread over a name's addresses. Answers are
 * kept by pool name: one process runs one engine (tests that run several give their DNS pools
 * distinct names).
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { PoolConfig, PoolDnsConfig } from '../config/types.js';
import { hasHostName } from '../config/schema-dns.js';
import { createDnsResolver, type DnsResolver, type ResolvedAddress } from './dns-resolver.js';

/** `net.connect`'s `lookup` option (Node calls it with `all: true` when `autoSelectFamily` is on). */
export type ConnectLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

interface Answer {
  addresses: ResolvedAddress[];
  /** Monotonic ms after which a refresh is due. */
  refreshAt: number;
  /** Next address to hand out (round robin). */
  turn: number;
}

/** One pool's answers and the resolver that refreshes them. */
class PoolAnswers {
  readonly answers = new Map<string, Answer>();
  private readonly pending = new Map<string, Promise<Answer | undefined>>();
  resolver: DnsResolver;
  key: string;

  constructor(public settings: PoolDnsConfig) {
    this.key = settingsKey(settings);
    this.resolver = createDnsResolver(settings.servers);
  }

  lookup: ConnectLookup = (hostname, options, callback) => {
    const name = hostname.toLowerCase();
    const cached = this.answers.get(name);
    if (cached !== undefined) {
      if (now() >= cached.refreshAt) void this.refresh(name);
      return answer(cached, options, callback);
    }
    this.refresh(name).then(
      (fresh) => (fresh !== undefined ? answer(fresh, options, callback) : callback(notFound(hostname), '')),
      () => callback(notFound(hostname), ''),
    );
  };

  /** Queries `name` once at a time; undefined when it failed (a cached answer stays). */
  refresh(name: string): Promise<Answer | undefined> {
    let p = this.pending.get(name);
    if (p !== undefined) return p;
    const { minTtlMs, maxTtlMs } = this.settings;
    p = this.resolver
      .resolveAddresses(name)
      .then((addresses) => this.store(name, addresses, clampTtlMs(addresses, minTtlMs, maxTtlMs)))
      .catch(() => {
        const old = this.answers.get(name);
        // Keep the last good answer; ask again after min_ttl, not at every connection.
        if (old !== undefined) old.refreshAt = now() + minTtlMs;
        return undefined;
      })
      .finally(() => this.pending.delete(name));
    this.pending.set(name, p);
    return p;
  }

  store(name: string, addresses: ResolvedAddress[], ttlMs: number): Answer {
    const old = this.answers.get(name);
    const fresh: Answer = { addresses, refreshAt: now() + ttlMs, turn: old?.turn ?? 0 };
    this.answers.set(name, fresh);
    return fresh;
  }
}

const pools = new Map<string, PoolAnswers>();
const now = (): number => performance.now();

function settingsKey(s: PoolDnsConfig): string {
  return `${s.servers.join(',')}|${s.minTtlMs}|${s.maxTtlMs}`;
}

/** The answer's smallest TTL in ms, clamped to `minTtlMs`..`maxTtlMs` (RFC 1035 section 3.2.1: TTL in seconds). */
export function clampTtlMs(addresses: readonly ResolvedAddress[], minTtlMs: number, maxTtlMs: number): number {
  const ttl = addresses.length === 0 ? maxTtlMs : Math.min(...addresses.map((a) => a.ttlSeconds * 1000));
  return Math.min(maxTtlMs, Math.max(minTtlMs, ttl));
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (velo dns)`), { code: 'ENOTFOUND', hostname });
}

function answer(a: Answer, options: { family?: number | string; all?: boolean }, callback: Parameters<ConnectLookup>[2]): void {
  const want = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
  const list = want === 0 ? a.addresses : a.addresses.filter((x) => x.family === want);
  if (list.length === 0) return callback(Object.assign(new Error('no address of that family'), { code: 'ENODATA' }), '');
  const first = a.turn++ % list.length;
  const rotated = [...list.slice(first), ...list.slice(0, first)];
  if (options.all === true) return callback(null, rotated.map((x) => ({ address: x.address, family: x.family })));
  callback(null, rotated[0]!.address, rotated[0]!.family);
}

function poolAnswers(poolName: string, settings: PoolDnsConfig): PoolAnswers {
  let p = pools.get(poolName);
  if (p === undefined || p.key !== settingsKey(settings)) {
    // New servers or bounds: answers from the old servers are not this pool's any more.
    p = new PoolAnswers(settings);
    pools.set(poolName, p);
  }
  return p;
}

/**
 * Follows a pool's (reloaded) `dns:` settings: new servers or TTL bounds drop the pool's answers,
 * so existing backends' next connections ask the new servers (Pool.updateConfig calls it).
 */
export function configureDnsLookup(pool: PoolConfig): void {
  if (pool.dns !== undefined) poolAnswers(pool.name, pool.dns);
  else pools.delete(pool.name);
}

/**
 * The connector's `lookup` for a backend at `url` in `pool`: undefined (the system resolver,
 * nothing added to the connection path) unless the pool has `dns:`/`srv:` in `single` mode and
 * the URL names a host. Reads the pool's current answers at each connection.
 */
export function connectLookup(pool: PoolConfig, url: URL): ConnectLookup | undefined {
  if (pool.dns === undefined || pool.dns.mode !== 'single' || !hasHostName(url.origin)) return undefined;
  poolAnswers(pool.name, pool.dns);
  const name = pool.name;
  return (hostname, options, callback) => (pools.get(name) ?? poolAnswers(name, pool.dns!)).lookup(hostname, options, callback);
}

/** Hands the DNS provider's answer for `hostname` to the connections of `pool` (see the module comment). */
export function publishAnswer(poolName: string, settings: PoolDnsConfig, hostname: string, addresses: ResolvedAddress[], ttlMs: number): void {
  poolAnswers(poolName, settings).store(hostname.toLowerCase(), addresses, ttlMs);
}
