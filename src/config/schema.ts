/**
 * Validation of a config file's text (YAML, or JSON which YAML 1.2 also reads) into a
 * `VeloConfig`: every problem is collected with its dotted path, line, column and a hint.
 */
import { BlockList, isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import type { AccessLogConfig, AccessLogFormat, LogStoreConfig, ListenTlsConfig, LogLevel, PoolConfig, SniCertificateConfig, TlsVersion, VeloConfig } from './types.js';
import { DEFAULT_LOG_STORE, DEFAULT_POOL_NAME, DEFAULTS, TLS_DEFAULTS } from './defaults.js';
import { parseSpan } from './parse-duration.js';
import { POOL_KEYS, readPool } from './schema-pool.js';
import { describeNode, IssueCollector, MapReader, readList, readString } from './schema-node.js';
import { strictJsonIssue } from './strict-json.js';
import { readProviders } from './schema-providers.js';

export { normalizeBackendUrl, backendUrlProblem } from './backend-url.js';

/** Keys allowed at the top level besides the pool keys of the short form. */
export const TOP_KEYS = [
  'listen',
  'admin',
  'access_log',
  'tracing',
  'ip_filter',
  'trust_proxy',
  'shutdown_timeout',
  'log_level',
  'client_timeouts',
  'workers',
  'cluster',
  'providers',
  'pools',
] as const;

/** Log levels, quietest last. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;
const HOST_HINT = 'expected an IP address such as 0.0.0.0, 127.0.0.1 or ::, or a host name';

/** `host` without IPv6 brackets when it is something a server can bind to; undefined otherwise. */
export function normalizeListenHost(host: string): string | undefined {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  return isIP(h) !== 0 || HOST_NAME.test(h) ? h : undefined;
}

/** True for an IPv4/IPv6 address or a CIDR block such as `10.0.0.0/8` or `fd00::/8`. */
export function isIpOrCidr(input: string): boolean {
  const [addr = '', prefix, ...rest] = input.trim().split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(addr, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}

/** The outcome of validating one config text, before the environment and flags are applied. */
export interface ValidatedConfig {
  /** Complete config; values that failed validation hold their defaults. */
  config: VeloConfig;
  issues: ConfigIssue[];
  /** The text was not well-formed YAML/JSON; `config` is then the defaults. */
  syntaxError: boolean;
  /** Where each pool's keys sit: `''` for the short form, `pools[i]` otherwise. */
  poolPaths: string[];
  /** Line and column of the node at `path`, or of its nearest ancestor written in the file. */
  locate(path: string): { line?: number; column?: number };
}

function readIpList(c: IssueCollector, node: Node | undefined, path: string): string[] {
  if (node === undefined) return [];
  const out: string[] = [];
  for (const item of readList(c, node, path, 'IP addresses or CIDR blocks', true) ?? []) {
    if (item.node === undefined) continue;
    const s = readString(c, item.node, item.path, 'expected an IP or CIDR such as 10.0.0.0/8');
    if (s === undefined) continue;
    if (isIpOrCidr(s)) out.push(s);
    else c.report(item.path, item.node, `"${s}" is not an IP address or CIDR block`, 'expected an IP address or CIDR block, e.g. 192.168.1.10, 10.0.0.0/8 or fd00::/8');
  }
  return out;
}

function readHost(r: MapReader, def: string): string {
  const raw = r.optionalString('host', HOST_HINT);
  if (raw === undefined) return def;
  const host = normalizeListenHost(raw);
  if (host === undefined) r.c.report(r.at('host'), r.get('host'), `"${raw}" is not an address to listen on`, HOST_HINT);
  return host ?? def;
}

/** `p` anchored to the config file's directory when relative. */
export function filePath(p: string, baseDir: string | undefined): string {
  return baseDir !== undefined && !isAbsolute(p) ? resolve(baseDir, p) : p;
}

const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/** A host name an SNI certificate serves: `a.example.com` or `*.example.com` (one label). */
const SNI_HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** `cert` and `key` of a mapping, both required, as absolute paths. */
function readPemPair(r: MapReader, baseDir: string | undefined, example: string): { cert: string; key: string } | undefined {
  for (const k of ['cert', 'key']) {
    if (isMap(r.node) && !r.has(k)) r.c.report(r.at(k), r.node, `${k} is missing`, `expected ${example}`);
  }
  const cert = r.optionalString('cert', 'expected a path to a PEM certificate');
  const key = r.optionalString('key', 'expected a path to a PEM private key');
  return cert !== undefined && key !== undefined ? { cert: filePath(cert, baseDir), key: filePath(key, baseDir) } : undefined;
}

function readSniCertificates(t: MapReader, baseDir: string | undefined): SniCertificateConfig[] {
  const node = t.get('certificates');
  if (node === undefined) return [];
  const out: SniCertificateConfig[] = [];
  const seen = new Map<string, string>();
  for (const item of readList(t.c, node, t.at('certificates'), '{ hosts, cert, key } mappings') ?? []) {
    const r = new MapReader(t.c, item.node, item.path, ['hosts', 'cert', 'key']);
    if (item.node === undefined || !isMap(item.node)) {
      if (item.node === undefined) t.c.report(item.path, node, 'empty certificate entry', 'expected { hosts: [a.example.com], cert: a.pem, key: a.key }');
      continue;
    }
    const hosts: string[] = [];
    const hostsNode = r.get('hosts');
    if (hostsNode === undefined) r.c.report(r.at('hosts'), item.node, 'hosts is missing', 'expected hosts: [a.example.com, "*.example.com"]');
    for (const h of hostsNode !== undefined ? (readList(r.c, hostsNode, r.at('hosts'), 'host names such as a.example.com or *.example.com', true) ?? []) : []) {
      const raw = h.node !== undefined ? readString(r.c, h.node, h.path, 'expected a host name') : undefined;
      if (raw === undefined) continue;
      const host = raw.toLowerCase().replace(/\.$/, '');
      if (!SNI_HOST.test(host)) {
        r.c.report(h.path, h.node, `"${raw}" is not a host name`, 'expected a host name such as a.example.com or *.example.com (a wildcard covers one label)');
      } else if (seen.has(host)) {
        r.c.report(h.path, h.node, `"${host}" is already served by ${seen.get(host)}`, 'list each host under one certificate only');
      } else {
        seen.set(host, item.path);
        hosts.push(host);
      }
    }
    const pair = readPemPair(r, baseDir, '{ hosts: [a.example.com], cert: a.pem, key: a.key }');
    if (pair !== undefined && hosts.length > 0) out.push({ hosts, ...pair });
  }
  return out;
}

function readListenTls(l: MapReader, baseDir: string | undefined): ListenTlsConfig | undefined {
  const t = l.map('tls', ['cert', 'key', 'min_version', 'ciphers', 'certificates']);
  const pair = readPemPair(t, baseDir, 'tls: { cert: path/to/cert.pem, key: path/to/key.pem }');
  const minVersion = t.oneOf('min_version', TLS_DEFAULTS.minVersion as TlsVersion, TLS_VERSIONS);
  const ciphers = t.optionalString('ciphers', 'expected an OpenSSL cipher list such as ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256');
  const certificates = readSniCertificates(t, baseDir);
  if (pair === undefined) return undefined;
  return { ...pair, minVersion, ...(ciphers !== undefined ? { ciphers } : {}), certificates };
}

function readListen(top: MapReader, baseDir: string | undefined): VeloConfig['listen'] {
  const l = top.map('listen', ['host', 'port', 'tls', 'proxy_protocol', 'http2', 'h2c']);
  const listen: VeloConfig['listen'] = {
    host: readHost(l, DEFAULTS.listen.host),
    port: l.int('port', DEFAULTS.listen.port, { min: 0, max: 65535 }),
  };
  if (l.has('tls')) {
    const tls = readListenTls(l, baseDir);
    if (tls !== undefined) listen.tls = tls;
  }
  if (l.has('proxy_protocol')) {
    const p = l.map('proxy_protocol', ['trusted']);
    if (isMap(p.node) && !p.has('trusted')) {
      p.c.report(p.at('trusted'), p.node, 'proxy_protocol needs trusted', 'expected proxy_protocol: { trusted: [10.0.0.0/8] }: the load balancers allowed to send a PROXY header');
    }
    const trusted = readIpList(p.c, p.get('trusted'), p.at('trusted'));
    if (trusted.length > 0) listen.proxyProtocol = { trusted };
  }
  if (l.has('http2')) listen.http2 = l.bool('http2', true);
  if (l.has('h2c')) {
    const h2c = l.bool('h2c', false);
    if (h2c && listen.tls !== undefined) {
      l.c.report(l.at('h2c'), l.get('h2c')!, 'h2c is cleartext HTTP/2 and cannot be used with tls', 'a TLS listener offers h2 by ALPN already (listen.http2, on by default); set h2c only on a plain listener');
    } else if (h2c) listen.h2c = true;
  }
  return listen;
}

function readAccessLog(top: MapReader, baseDir: string | undefined): AccessLogConfig {
  const node = top.get('access_log');
  const def = { ...DEFAULTS.accessLog };
  if (node === undefined) return def;
  const target = (t: string): string => (t === 'stdout' ? t : filePath(t, baseDir));
  if (isScalar(node) && typeof node.value === 'boolean') return { enabled: node.value, target: def.target };
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') {
    return { enabled: true, target: target(node.value.trim()) };
  }
  if (isScalar(node)) {
    top.c.report(top.at('access_log'), node, `${describeNode(node)} is not valid for access_log`, 'expected true, false, stdout, a file path or { enabled, path }');
    return def;
  }
  const a = top.map('access_log', ['enabled', 'path', 'format', 'store']);
  const format = a.has('format') ? a.oneOf('format', 'json', ACCESS_LOG_FORMATS) : undefined;
  const store = readLogStore(a, baseDir);
  return {
    enabled: a.bool('enabled', true),
    target: target(a.string('path', def.target, 'expected stdout or a file path')),
    ...(format !== undefined ? { format } : {}),
    ...(store !== undefined ? { store } : {}),
  };
}

/** `access_log.format` values: JSON lines, logfmt, or nginx's `combined` line. */
export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['json', 'logfmt', 'common'];

/** `tracing: { propagate }`. */
function readTracing(top: MapReader): VeloConfig['tracing'] {
  const t = top.map('tracing', ['propagate']);
  return { propagate: t.bool('propagate', DEFAULTS.tracing.propagate) };
}

/** `access_log.store: { path, retention: 7d, max_size: 1GB }` (or `false`): the SQLite log store. */
function readLogStore(a: MapReader, baseDir: string | undefined): LogStoreConfig | undefined {
  if (!a.has('store')) return undefined;
  const { enabled, section: s } = a.toggle('store', true, ['path', 'retention', 'max_size']);
  const path = filePath(s.string('path', DEFAULT_LOG_STORE.path, 'expected a file path such as velo-logs.db'), baseDir);
  let retentionMs = DEFAULT_LOG_STORE.retentionMs;
  const r = s.get('retention');
  if (r !== undefined) {
    const ms = isScalar(r) && (typeof r.value === 'string' || typeof r.value === 'number') ? parseSpan(r.value) : undefined;
    if (ms === undefined || ms <= 0) s.c.report(s.at('retention'), r, `${describeNode(r)} is not a duration`, 'expected a duration such as 7d, 12h or 30m');
    else retentionMs = ms;
  }
  const maxBytes = s.bytes('max_size', DEFAULT_LOG_STORE.maxBytes);
  return enabled ? { path, retentionMs, maxBytes } : undefined;
}

const WORKERS_HINT = 'expected a number of worker processes from 1 to 256, or auto (one per available core)';

/** `workers: N | auto`: forwarding processes (cluster.ts); `auto` is kept and resolved at start. */
function readWorkers(top: MapReader): VeloConfig['workers'] {
  const node = top.get('workers');
  if (node === undefined) return DEFAULTS.workers;
  if (isScalar(node) && node.value === 'auto') return 'auto';
  if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 1 && node.value <= 256) return node.value;
  top.c.report(top.at('workers'), node, `${describeNode(node)} is not valid for workers`, WORKERS_HINT);
  return DEFAULTS.workers;
}

/** `cluster: { redis: redis://host:port/db, prefix, instance }`: state shared between instances. */
function readCluster(top: MapReader): VeloConfig['cluster'] {
  if (!top.has('cluster')) return undefined;
  const r = top.map('cluster', ['redis', 'prefix', 'instance']);
  if (isMap(r.node) && !r.has('redis')) r.c.report(r.at('redis'), r.node, 'cluster needs redis', 'expected cluster: { redis: redis://127.0.0.1:6379 }');
  const redis = r.optionalString('redis', 'expected a Redis URL such as redis://127.0.0.1:6379 or rediss://user:pass@host:6380/0');
  if (redis !== undefined && !/^(?:rediss?:\/\/[^\s/?#]+(?:\/\d*)?|unix:\/\/\/[^\s?#]+(?:\?db=\d+)?)$/.test(redis)) {
    r.c.report(r.at('redis'), r.get('redis'), `"${redis}" is not a Redis URL`, 'expected redis://host:port[/db], rediss://... for TLS, or unix:///path/to/redis.sock[?db=N]');
  }
  const prefix = r.string('prefix', 'velo:', 'expected a key prefix such as velo: (instances sharing state use the same prefix)');
  const instance = r.optionalString('instance', 'expected a name for this instance, unique among its peers (default: hostname:port)');
  if (redis === undefined) return undefined;
  return { redis, prefix, ...(instance !== undefined ? { instance } : {}) };
}

function readTrustProxy(top: MapReader): VeloConfig['trustProxy'] {
  const node = top.get('trust_proxy');
  if (node === undefined) return DEFAULTS.trustProxy;
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  return readIpList(top.c, node, top.at('trust_proxy'));
}

function checkPools(c: IssueCollector, pools: PoolConfig[], readers: MapReader[]): void {
  const names = new Map<string, number>();
  const matches = new Map<string, number>();
  pools.forEach((pool, i) => {
    const r = readers[i]!;
    if (!isMap(r.node)) return;
    const label = pool.name !== '' ? `pool "${pool.name}"` : r.path;
    const first = names.get(pool.name);
    if (pool.name !== '' && first !== undefined) {
      c.report(r.at('name'), r.get('name') ?? r.node, `duplicate pool name "${pool.name}" (also pools[${first}])`, 'pool names must be unique');
    } else names.set(pool.name, i);
    const hasMatch = pool.match.host !== undefined || pool.match.pathPrefix !== undefined;
    if (!hasMatch && i > 0) {
      c.report(r.at('match'), r.get('match') ?? r.node, `${label} has no match`, 'only the first pool may omit match: (it is the catch-all); add match: { host: ... } or { path_prefix: ... }');
      return;
    }
    const key = `${pool.match.host ?? '*'} ${pool.match.pathPrefix ?? '/'}`;
    const same = matches.get(key);
    if (hasMatch && same !== undefined) {
      c.report(r.at('match'), r.get('match'), `${label} has the same match as pools[${same}] and would never be used`, 'give each pool a different host or path_prefix');
    } else matches.set(key, i);
  });
}

function readPools(top: MapReader, baseDir: string | undefined): { pools: PoolConfig[]; poolPaths: string[] } {
  if (!top.written('pools')) return { pools: [readPool(top, DEFAULT_POOL_NAME, baseDir)], poolPaths: [''] };
  for (const key of top.keys()) {
    if ((POOL_KEYS as readonly string[]).includes(key)) {
      top.c.report(top.at(key), top.keyNode(key), `"${key}" at the top level cannot be combined with pools:`, 'move it into a pool under pools:, or remove pools: to use the one-pool short form');
    }
  }
  const node = top.get('pools');
  const items = node !== undefined ? (readList(top.c, node, 'pools', 'pools ({ name, match, backends, ... })') ?? []) : [];
  if (items.length === 0) {
    top.c.report('pools', node ?? top.keyNode('pools'), 'pools is empty', 'add at least one pool with backends:, or remove pools: and list backends: at the top level');
  }
  const readers = items.map((item) => new MapReader(top.c, item.node, item.path, POOL_KEYS));
  const pools = readers.map((r) => readPool(r, items.length === 1 ? DEFAULT_POOL_NAME : undefined, baseDir));
  const poolPaths = items.map((item) => item.path);
  checkPools(top.c, pools, readers);
  return { pools, poolPaths };
}

function splitPath(path: string): Array<string | number> {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/**
 * Parses and validates `text`; never throws for bad input. `file` (when given) names the source
 * and anchors relative TLS and access-log paths to its directory.
 */
export function validateConfigText(text: string, file?: string): ValidatedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const c = new IssueCollector(doc, lineCounter);
  const locate = (path: string): { line?: number; column?: number } => {
    const segments = splitPath(path);
    for (let n = segments.length; n > 0; n--) {
      const node = doc.getIn(segments.slice(0, n), true);
      if (node !== undefined && node !== null) return c.locate(node);
    }
    return {};
  };
  const jsonIssue = file !== undefined && /\.json$/i.test(file) ? strictJsonIssue(text) : undefined;
  if (jsonIssue !== undefined) c.issues.push(jsonIssue);
  if (doc.errors.length > 0 || jsonIssue !== undefined) {
    // For a .json file the strict JSON error is the one to fix; YAML's view of it would be noise.
    for (const e of jsonIssue === undefined ? doc.errors : []) {
      const pos = lineCounter.linePos(e.pos[0]);
      c.issues.push({ path: '(syntax)', line: pos.line, column: pos.col, message: e.message.split('\n')[0]!, hint: 'fix the YAML/JSON syntax first' });
    }
    return { config: validateRoot(new MapReader(c, undefined, '', []), undefined).config, issues: c.issues, syntaxError: true, poolPaths: [''], locate };
  }
  const top = new MapReader(c, c.resolve(doc.contents), '', [...TOP_KEYS, ...POOL_KEYS]);
  const baseDir = file !== undefined ? dirname(resolve(file)) : undefined;
  const { config, poolPaths } = validateRoot(top, baseDir);
  const issues = c.issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.order - b.order)
    .map((x) => x.issue);
  return { config, issues, syntaxError: false, poolPaths, locate };
}

function validateRoot(top: MapReader, baseDir: string | undefined): { config: VeloConfig; poolPaths: string[] } {
  const admin = top.toggle('admin', DEFAULTS.admin.enabled, ['host', 'port', 'token']);
  const token = admin.section.optionalString('token', 'expected a secret string');
  const filter = top.map('ip_filter', ['allow', 'deny']);
  const clientTimeouts = top.map('client_timeouts', ['header', 'request', 'tls_handshake']);
  const { pools, poolPaths } = readPools(top, baseDir);
  const config: VeloConfig = {
    listen: readListen(top, baseDir),
    admin: {
      enabled: admin.enabled,
      host: readHost(admin.section, DEFAULTS.admin.host),
      port: admin.section.int('port', DEFAULTS.admin.port, { min: 0, max: 65535 }),
      ...(token !== undefined ? { token } : {}),
    },
    pools,
    accessLog: readAccessLog(top, baseDir),
    tracing: readTracing(top),
    ipFilter: { allow: readIpList(top.c, filter.get('allow'), filter.at('allow')), deny: readIpList(top.c, filter.get('deny'), filter.at('deny')) },
    trustProxy: readTrustProxy(top),
    shutdownTimeoutMs: top.duration('shutdown_timeout', DEFAULTS.shutdownTimeoutMs),
    logLevel: top.oneOf('log_level', DEFAULTS.logLevel, LOG_LEVELS),
    clientHeaderTimeoutMs: clientTimeouts.duration('header', DEFAULTS.clientHeaderTimeoutMs, 1),
    clientRequestTimeoutMs: clientTimeouts.duration('request', DEFAULTS.clientRequestTimeoutMs, 1),
    clientTlsHandshakeTimeoutMs: clientTimeouts.duration('tls_handshake', DEFAULTS.clientTlsHandshakeTimeoutMs, 1),
    workers: readWorkers(top),
  };
  const cluster = readCluster(top);
  if (cluster !== undefined) config.cluster = cluster;
  const providers = readProviders(top);
  if (providers !== undefined) config.providers = providers;
  return { config, poolPaths };
}
