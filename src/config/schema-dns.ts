/**
 * A pool's `dns:` and `srv:` keys (DNS discovery, src/discovery), and which of its backends DNS
 * puts in the table instead of the config (`ownedByStrictDns`).
 */
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import type { BackendConfig, PoolDnsConfig } from './types.js';
import { DNS_DEFAULTS } from './defaults.js';
import { readList, readString, type MapReader } from './schema-node.js';

const SERVER_HINT = 'expected a name server address such as 10.0.0.2, 127.0.0.1:5353 or [fd00::53]:53';
const SRV_HINT = 'expected an SRV name such as _http._tcp.api.internal (RFC 2782: _service._proto.name)';
const SRV_NAME = /^_[a-z0-9-]+\._(tcp|udp)\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** `ip`, `ip:port` or `[v6]:port` as `setServers` takes them, or undefined when it is not one. */
export function parseDnsServer(input: string): string | undefined {
  const s = input.trim();
  if (isIP(s) !== 0) return s;
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s);
  const v4 = /^([^:]+):(\d{1,5})$/.exec(s);
  const m = v6 ?? v4;
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
  return isIP(m[1]!) === (v6 !== null ? 6 : 4) ? s : undefined;
}

/** True when `url` names its host by a name (not an IP literal), which DNS resolves. */
export function hasHostName(url: string): boolean {
  const host = new URL(url).hostname;
  return isIP(host.startsWith('[') ? host.slice(1, -1) : host) === 0;
}

/**
 * True when `backend` is not a backend of the table itself: in `strict` mode each address its
 * host name resolves to is one (source `dns`), so the config reconciler leaves the name out.
 */
export function ownedByStrictDns(pool: { dns?: PoolDnsConfig }, backend: BackendConfig): boolean {
  return pool.dns?.mode === 'strict' && hasHostName(backend.url);
}

/**
 * Reads `dns:` and `srv:` of one pool; undefined when neither is written (the pool then uses no
 * DNS discovery at all: host names are resolved by the system per connection, as before).
 */
export function readDns(r: MapReader, backends: readonly BackendConfig[], tlsServername: string | undefined): PoolDnsConfig | undefined {
  if (!r.has('dns') && !r.has('srv')) return undefined;
  const d = DNS_DEFAULTS;
  const m = r.map('dns', ['mode', 'servers', 'min_ttl', 'max_ttl', 'allow_unresolved']);
  const servers: string[] = [];
  const serversNode = m.get('servers');
  if (serversNode !== undefined) {
    for (const item of readList(m.c, serversNode, m.at('servers'), 'name server addresses', true) ?? []) {
      const raw = item.node !== undefined ? readString(m.c, item.node, item.path, SERVER_HINT) : undefined;
      if (raw === undefined) continue;
      const server = parseDnsServer(raw);
      if (server !== undefined) servers.push(server);
      else m.c.report(item.path, item.node, `"${raw}" is not a name server address`, SERVER_HINT);
    }
  }
  const minTtlMs = m.duration('min_ttl', d.minTtlMs, 100);
  let maxTtlMs = m.duration('max_ttl', d.maxTtlMs, 100);
  if (maxTtlMs < minTtlMs) {
    m.c.report(m.at('max_ttl'), m.get('max_ttl') ?? m.get('min_ttl'), 'max_ttl is shorter than min_ttl', 'expected max_ttl >= min_ttl');
    maxTtlMs = minTtlMs;
  }
  const mode = m.oneOf('mode', d.mode, ['single', 'strict']);
  const srv = readSrv(r);
  if (mode === 'strict' && tlsServername === undefined) {
    // The backend is then reached by IP: the certificate must be checked against the name.
    const https = backends.find((b) => b.url.startsWith('https:') && hasHostName(b.url));
    if (https !== undefined) m.c.report(m.at('mode'), m.get('mode'), `strict mode reaches ${https.url} by its addresses, so TLS needs the name to check`, `set tls.servername: ${new URL(https.url).hostname}`);
    const httpsSrv = srv.find((name) => name.startsWith('_https.'));
    if (https === undefined && httpsSrv !== undefined) m.c.report(m.at('mode'), m.get('mode'), `strict mode reaches the targets of ${httpsSrv} by their addresses, so TLS needs the name to check`, 'set tls.servername to the name the certificates carry');
  }
  return {
    mode,
    servers,
    minTtlMs,
    maxTtlMs,
    allowUnresolved: m.bool('allow_unresolved', d.allowUnresolved),
    srv,
  };
}

function readSrv(r: MapReader): string[] {
  const node: Node | undefined = r.get('srv');
  if (node === undefined) return [];
  const names: string[] = [];
  for (const item of readList(r.c, node, r.at('srv'), 'SRV names', true) ?? []) {
    const raw = item.node !== undefined ? readString(r.c, item.node, item.path, SRV_HINT) : undefined;
    if (raw === undefined) continue;
    if (SRV_NAME.test(raw)) names.push(raw.toLowerCase().replace(/\.$/, ''));
    else r.c.report(item.path, item.node, `"${raw}" is not an SRV name`, SRV_HINT);
  }
  return names;
}
