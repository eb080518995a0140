/**
 * DNS queries with the answer's TTL: A and AAAA records of a name, SRV records of a service,
 * asked of the pool's `dns.servers` (or those of /etc/resolv.conf) through node:dns's c-ares
 * `Resolver`. Like Envoy's c-ares resolver it never reads /etc/hosts; `localhost` and its
 * subdomains are answered without a query, as RFC 6761 section 6.3 asks of resolver libraries.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DNS_DEFAULTS } from '../config/defaults.js';

/** One address of a name and how long the answer may be cached (RFC 1035 section 3.2.1 TTL, seconds). */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  ttlSeconds: number;
}

/** One SRV record (RFC 2782): `name` is the target host, `weight` 0..65535, lower `priority` is preferred. */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** What the DNS provider asks; tests hand it a fake. */
export interface DnsResolver {
  /**
   * A and AAAA answers together, IPv4 first. Rejects with a `DnsLookupError` when neither family
   * has an address (`ENOTFOUND`, `ENODATA`) or a query failed (`ETIMEOUT`, `ECONNREFUSED`, ...).
   */
  resolveAddresses(name: string): Promise<ResolvedAddress[]>;
  /** The SRV records of `name`; rejects with a `DnsLookupError` when there are none or the query failed. */
  resolveSrv(name: string): Promise<SrvRecord[]>;
}

/** A lookup that gave no usable answer; `code` is c-ares's (`ENOTFOUND`, `ETIMEOUT`, `ECONNREFUSED`, ...). */
export class DnsLookupError extends Error {
  constructor(
    readonly code: string,
    readonly hostname: string,
    options?: { cause?: unknown },
  ) {
    super(`${hostname}: ${code}`, options);
    this.name = 'DnsLookupError';
  }
}

/** Codes that mean "the name has no record of that type", not "the query failed". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);
/** RFC 6761 section 6.3: localhost names are the loopback addresses, whatever a server says. */
const LOCALHOST = /^(.+\.)?localhost\.?$/i;
/** What an answer given without a query (localhost, an IP literal) counts as: max_ttl clamps it. */
const FIXED_TTL_SECONDS = 86_400;

function codeOf(err: unknown): string {
  return typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'EFAIL';
}

/** A `DnsResolver` on node:dns's c-ares `Resolver`, asking `servers` (empty: the system's). */
export function createDnsResolver(servers: readonly string[], options: { timeoutMs?: number; tries?: number } = {}): DnsResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? DNS_DEFAULTS.queryTimeoutMs, tries: options.tries ?? DNS_DEFAULTS.queryTries });
  if (servers.length > 0) resolver.setServers([...servers]);
  const family = async (name: string, v: 4 | 6): Promise<ResolvedAddress[]> => {
    try {
      const records = v === 4 ? await resolver.resolve4(name, { ttl: true }) : await resolver.resolve6(name, { ttl: true });
      return records.map((r) => ({ address: r.address, family: v, ttlSeconds: r.ttl }));
    } catch (err) {
      if (NO_RECORDS.has(codeOf(err))) return [];
      throw new DnsLookupError(codeOf(err), name, { cause: err });
    }
  };
  return {
    async resolveAddresses(name) {
      const literal = isIP(name);
      if (literal !== 0) return [{ address: name, family: literal as 4 | 6, ttlSeconds: FIXED_TTL_SECONDS }];
      if (LOCALHOST.test(name)) {
        return [
          { address: '127.0.0.1', family: 4, ttlSeconds: FIXED_TTL_SECONDS },
          { address: '::1', family: 6, ttlSeconds: FIXED_TTL_SECONDS },
        ];
      }
      const [v4, v6] = await Promise.all([family(name, 4), family(name, 6)]);
      const all = [...v4, ...v6];
      if (all.length === 0) throw new DnsLookupError('ENOTFOUND', name);
      return all;
    },
    async resolveSrv(name) {
      try {
        const records = await resolver.resolveSrv(name);
        if (records.length === 0) throw Object.assign(new Error('no SRV records'), { code: 'ENODATA' });
        return records.map((r) => ({ name: r.name.toLowerCase().replace(/\.$/, ''), port: r.port, priority: r.priority, weight: r.weight }));
      } catch (err) {
        throw new DnsLookupError(codeOf(err), name, { cause: err });
      }
    },
  };
}
