/**
 * DNS discovery for one pool: resolves its backends' host names (A and AAAA) and its SRV names
 * (RFC 2782), turns the answers into the pool's desired `dns` backends, hands them to the one
 * reconciler (`Control.reconcileSource`), and asks again when the shortest TTL of the answers
 * has passed (RFC 1035 section 3.2.1), clamped to `dns.min_ttl`..`dns.max_ttl`.
 *
 * - `strict` (Envoy's strict_dns): each address of a named backend is a backend of its own,
 *   `http://<ip>:<port>` (IPv6 in brackets) named `<host>:<port>#<ip>`, with the entry's weight;
 *   the named entry itself is not in the table (config/schema-dns.ts `ownedByStrictDns`).
 * - `single`: a named backend stays one backend (the config's); its answers go to the
 *   connector's lookup (dns-lookup.ts), so new connections follow the name.
 * - SRV: only the lowest-priority group of records is used (RFC 2782 fallback to higher values
 *   is left to health checks); each target and port is a backend `http://<target>:<port>`
 *   (`https` for `_https._tcp` names) weighted by the record's weight (0 counts as 1, more than
 *   1000 as 1000), or in `strict` mode one per address of the target, `<target>:<port>#<ip>`.
 *   Node's resolver does not report SRV TTLs: an SRV name is asked again every `dns.min_ttl`.
 * - A lookup that fails (timeout, refused, SERVFAIL, or no record at all) keeps the name's last
 *   good answer, says so once per failure streak (event, `velo_dns_lookup_failures_total`), and
 *   is retried after `min_ttl`, doubling up to `max_ttl`; a success ends the streak and says so.
 */
import { basePathOf } from '../config/backend-url.js';
import type { BackendConfig, PoolConfig } from '../config/types.js';
import { hasHostName } from '../config/schema-dns.js';
import type { DesiredBackend } from '../engine/control.js';
import type { Timers } from '../health/active-check.js';
import { clampTtlMs } from './dns-lookup.js';
import { DnsLookupError, type DnsResolver, type ResolvedAddress, type SrvRecord } from './dns-resolver.js';

/** What velo knows about one name of a pool: the last good answer and the failure counters. */
export interface DnsNameState {
  name: string;
  type: 'A/AAAA' | 'SRV';
  addresses?: ResolvedAddress[];
  records?: SrvRecord[];
  /** Wall-clock ms of the last good answer; undefined while the name never resolved. */
  lastSuccessAt?: number;
  /** Failed lookups ever (monotonic, `velo_dns_lookup_failures_total`). */
  failuresTotal: number;
  /** Failed lookups in a row (0 after a success). */
  streak: number;
  lastError?: string;
}

export interface DnsProviderDeps {
  resolver: DnsResolver;
  timers: Timers;
  wallClock: () => number;
  /** Makes the pool's `dns` backends exactly `desired` (Control.reconcileSource). */
  reconcile: (desired: DesiredBackend[]) => void;
  /** An event for the log and the dashboard. */
  event: (level: 'info' | 'warn', message: string) => void;
  /** Hands an answer to `single`-mode connections (dns-lookup.ts `publishAnswer`). */
  publish: (hostname: string, addresses: ResolvedAddress[], ttlMs: number) => void;
  /**
   * The pool's names as last known, shared with the provider this one replaces after a reload:
   * last good answers survive the reload and the failure counters stay monotonic.
   */
  names: Map<string, DnsNameState>;
}

/** RFC 2782 weights run to 65535; velo's to 1000, and 0 would never be picked. */
export function srvWeight(weight: number): number {
  return Math.min(1000, Math.max(1, weight));
}

/** The records of the lowest priority value (RFC 2782: "A client MUST attempt to contact the target host with the lowest-numbered priority it can reach"). */
export function lowestPriority(records: readonly SrvRecord[]): SrvRecord[] {
  const min = Math.min(...records.map((r) => r.priority));
  return records.filter((r) => r.priority === min);
}

/** `10.0.0.1` or `[fd00::1]`, as a URL host. */
function urlHost(a: ResolvedAddress): string {
  return a.family === 6 ? `[${a.address}]` : a.address;
}

function clock(ms: number | undefined): string {
  return ms === undefined ? '?' : new Date(ms).toISOString().slice(11, 19);
}

/** One pool's DNS discovery: `start()` resolves once, then rounds follow the TTL until `stop()`. */
export class DnsProvider {
  private timer: unknown;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly pool: PoolConfig,
    private readonly deps: DnsProviderDeps,
  ) {}

  /** Backends named by host (all of them in `strict` mode's table are their addresses). */
  private namedBackends(): BackendConfig[] {
    return this.pool.backends.filter((b) => hasHostName(b.url));
  }

  /** Names that never resolved, after the first round; the provider then keeps refreshing on its own. */
  async start(): Promise<DnsNameState[]> {
    await this.refresh();
    return [...this.deps.names.values()].filter((s) => this.wants(s) && s.lastSuccessAt === undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One round: every name asked, the desired set reconciled, the next round scheduled. */
  refresh(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private wanted = new Set<string>();

  private wants(s: DnsNameState): boolean {
    return this.wanted.has(`${s.type} ${s.name}`);
  }

  private state(type: DnsNameState['type'], name: string): DnsNameState {
    const key = `${type} ${name}`;
    this.wanted.add(key);
    let s = this.deps.names.get(key);
    if (s === undefined) {
      s = { name, type, failuresTotal: 0, streak: 0 };
      this.deps.names.set(key, s);
    }
    return s;
  }

  private async round(): Promise<void> {
    const { pool, deps } = this;
    const dns = pool.dns!;
    this.wanted = new Set();
    let shortestMs = dns.maxTtlMs;
    let failed = 0;
    // SRV first: their targets are names to resolve too.
    const srv = await Promise.all(
      dns.srv.map(async (name) => {
        const s = this.state('SRV', name);
        try {
          const records = await deps.resolver.resolveSrv(name);
          this.succeeded(s, `${records.length} record${records.length === 1 ? '' : 's'}`);
          s.records = records;
        } catch (err) {
          failed = Math.max(failed, this.failed(s, err, `${s.records?.length ?? 0} records`));
        }
        shortestMs = Math.min(shortestMs, dns.minTtlMs);
        return { name, records: s.records === undefined || s.records.length === 0 ? [] : lowestPriority(s.records) };
      }),
    );
    const hosts = new Set<string>();
    for (const b of this.namedBackends()) hosts.add(new URL(b.url).hostname.toLowerCase());
    for (const { records } of srv) for (const r of records) hosts.add(r.name);
    await Promise.all(
      [...hosts].map(async (host) => {
        const s = this.state('A/AAAA', host);
        try {
          const addresses = await deps.resolver.resolveAddresses(host);
          const ttlMs = clampTtlMs(addresses, dns.minTtlMs, dns.maxTtlMs);
          shortestMs = Math.min(shortestMs, ttlMs);
          const changed = s.addresses === undefined || addresses.map((a) => a.address).join() !== s.addresses.map((a) => a.address).join();
          this.succeeded(s, `${addresses.length} address${addresses.length === 1 ? '' : 'es'}`);
          if (changed && s.addresses !== undefined) deps.event('info', `dns: ${host} now ${addresses.map((a) => a.address).join(', ')}`);
          s.addresses = addresses;
          if (dns.mode === 'single') deps.publish(host, addresses, ttlMs);
        } catch (err) {
          failed = Math.max(failed, this.failed(s, err, `${s.addresses?.length ?? 0} address${s.addresses?.length === 1 ? '' : 'es'}`));
        }
      }),
    );
    if (this.stopped) return;
    deps.reconcile(this.desired(srv));
    // A failure streak backs off from min_ttl, doubling up to max_ttl.
    const retryMs = failed > 0 ? Math.min(dns.maxTtlMs, dns.minTtlMs * 2 ** Math.min(20, failed - 1)) : Infinity;
    this.schedule(Math.min(shortestMs, retryMs));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, ms);
  }

  /** The backends the answers make, first listed first; a URL made twice is kept once. */
  desired(srv: Array<{ name: string; records: SrvRecord[] }>): DesiredBackend[] {
    const { pool } = this;
    const strict = pool.dns!.mode === 'strict';
    const out = new Map<string, DesiredBackend>();
    const put = (d: DesiredBackend): void => {
      if (!out.has(d.url)) out.set(d.url, d);
    };
    const addressesOf = (host: string): ResolvedAddress[] => this.deps.names.get(`A/AAAA ${host}`)?.addresses ?? [];
    if (strict) {
      for (const b of this.namedBackends()) {
        const url = new URL(b.url);
        for (const a of addressesOf(url.hostname.toLowerCase())) {
          put({ url: `${url.protocol}//${urlHost(a)}${url.port !== '' ? `:${url.port}` : ''}${basePathOf(url)}`, weight: b.weight, name: `${url.host}#${a.address}`, ...(b.maintenance === true ? { maintenance: true } : {}) });
        }
      }
    }
    for (const { name, records } of srv) {
      const scheme = name.startsWith('_https.') ? 'https' : 'http';
      for (const r of records) {
        if (!strict) {
          put({ url: `${scheme}://${r.name}:${r.port}`, weight: srvWeight(r.weight), name: `${r.name}:${r.port}` });
          continue;
        }
        for (const a of addressesOf(r.name)) put({ url: `${scheme}://${urlHost(a)}:${r.port}`, weight: srvWeight(r.weight), name: `${r.name}:${r.port}#${a.address}` });
      }
    }
    return [...out.values()];
  }

  private succeeded(s: DnsNameState, what: string): void {
    if (s.streak > 0 && s.lastSuccessAt !== undefined) this.deps.event('info', `dns: ${s.name} resolves again (${what}) after ${s.streak} failed lookup${s.streak === 1 ? '' : 's'}`);
    else if (s.streak > 0) this.deps.event('info', `dns: ${s.name} resolves now (${what})`);
    s.streak = 0;
    s.lastError = undefined;
    s.lastSuccessAt = this.deps.wallClock();
  }

  /** Counts a failure; the first of a streak is an event. Returns the streak length. */
  private failed(s: DnsNameState, err: unknown, kept: string): number {
    const code = err instanceof DnsLookupError ? err.code : (err as Error).message;
    s.failuresTotal += 1;
    s.streak += 1;
    s.lastError = code;
    if (s.streak === 1) {
      const keeping = s.lastSuccessAt !== undefined ? `keeping ${kept} from ${clock(s.lastSuccessAt)}` : 'no answer yet, retrying';
      this.deps.event('warn', `dns: ${s.name}: ${code}, ${keeping}`);
    }
    return s.streak;
  }
}
