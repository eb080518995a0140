/**
 * Validation of one pool of the config file (a `pools:` item, or the top level in the short
 * form) into a `PoolConfig` with every default filled in and every duration in ms.
 */
import { isMap, isScalar, type Node } from 'yaml';
import { describeStrategies, resolveStrategyName } from '../balancing/registry.js';
import { isAbsolute, resolve } from 'node:path';
import { readHeaderRules } from './schema-headers.js';
import { readRedirects } from './schema-redirects.js';
import { readCompression } from './schema-compression.js';
import type { BackendConfig, PoolConfig, PoolMatch, StrategyName, UpstreamTlsConfig } from './types.js';
import { backendUrlProblem, normalizeBackendUrl } from './backend-url.js';
import { POOL_DEFAULTS } from './defaults.js';
import { readRateLimit } from './schema-rate-limit.js';
import { readDns } from './schema-dns.js';
import { readProtocol } from './schema-protocol.js';
import { describeNode, IssueCollector, MapReader, readList, readNumber, readString } from './schema-node.js';

/** Every key a pool may have, as written in the file. */
export const POOL_KEYS = [
  'name',
  'match',
  'strategy',
  'backends',
  'health_check',
  'circuit_breaker',
  'retry',
  'timeouts',
  'max_connections',
  'queue',
  'sticky',
  'rate_limit',
  'outlier_detection',
  'panic_threshold',
  'slow_start',
  'tls',
  'dns',
  'srv',
  'strip_prefix',
  'add_prefix',
  'request_headers',
  'response_headers',
  'protocol',
  'redirects',
  'compression',
] as const;

const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 6265 cookie-name = RFC 7230 token
/** An HMAC-SHA256 key shorter than this is guessable offline from one cookie (OWASP: 128+ bits of entropy). */
const MIN_STICKY_SECRET_LENGTH = 32;
const STICKY_SECRET_HINT = `expected a random string of at least ${MIN_STICKY_SECRET_LENGTH} characters, e.g. the output of: openssl rand -hex 32`;
const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/;

/** The hint listing every valid strategy name. */
export function strategyHint(): string {
  return `expected one of: ${describeStrategies()}`;
}

/** The canonical strategy for `node`, or undefined after recording an issue naming the valid ones. */
export function readStrategy(c: IssueCollector, node: Node, path: string): StrategyName | undefined {
  const raw = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  const name = raw !== undefined ? resolveStrategyName(raw) : undefined;
  if (name === undefined) c.report(path, node, `unknown strategy ${describeNode(node)}`, strategyHint());
  return name;
}

/** The host a pool matches: lower-cased, port removed (`Example.com:8080` -> `example.com`, `[::1]:80` -> `::1`). */
export function normalizeMatchHost(input: string): string {
  const s = input.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed !== null) return bracketed[1]!;
  if (s.split(':').length === 2) return s.slice(0, s.indexOf(':'));
  return s;
}

const ADD_PREFIX = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/** `strip_prefix: true` (needs `match.path_prefix`) and `add_prefix: /base`. */
function readRewrite(r: MapReader, match: PoolMatch): PoolConfig['rewrite'] {
  const strip = r.bool('strip_prefix', false);
  if (strip && match.pathPrefix === undefined && r.has('strip_prefix')) {
    r.c.report(r.at('strip_prefix'), r.get('strip_prefix'), 'strip_prefix needs match.path_prefix', 'add match: { path_prefix: /api } to the pool, or remove strip_prefix');
  }
  const add = r.optionalString('add_prefix', 'expected a path such as /v2');
  let addPrefix: string | undefined;
  if (add !== undefined) {
    if (!ADD_PREFIX.test(add) || add.includes('//')) r.c.report(r.at('add_prefix'), r.get('add_prefix'), `"${add}" is not a path prefix`, 'expected a path such as /v2 (no query, no fragment, no spaces)');
    else addPrefix = add.replace(/\/+$/, '');
  }
  const stripPrefix = strip && match.pathPrefix !== undefined ? match.pathPrefix.replace(/\/+$/, '') : undefined;
  if (stripPrefix === undefined && (addPrefix === undefined || addPrefix === '')) return undefined;
  return { ...(stripPrefix !== undefined ? { stripPrefix } : {}), ...(addPrefix ? { addPrefix } : {}) };
}

function readMatch(r: MapReader): PoolMatch {
  const m = r.map('match', ['host', 'path_prefix']);
  const match: PoolMatch = {};
  const host = m.optionalString('host', 'expected a host name such as api.example.com or *.example.com');
  if (host !== undefined) {
    const normalized = normalizeMatchHost(host);
    if (HOST_NAME.test(normalized) || normalized.includes(':')) match.host = normalized;
    else m.c.report(m.at('host'), m.get('host'), `"${host}" is not a host name`, 'expected a host name such as api.example.com or *.example.com');
  }
  const prefix = m.optionalString('path_prefix', 'expected a path starting with /');
  if (prefix !== undefined) {
    if (prefix.startsWith('/')) match.pathPrefix = prefix;
    else m.c.report(m.at('path_prefix'), m.get('path_prefix'), `"${prefix}" does not start with /`, `expected a path such as /${prefix}`);
  }
  return match;
}

/** Validates one backend URL; records an issue and returns undefined when it is not usable. */
export function readBackendUrl(c: IssueCollector, node: Node | undefined, path: string, raw: string): string | undefined {
  const problem = backendUrlProblem(raw);
  if (problem === undefined) return normalizeBackendUrl(raw);
  c.report(path, node, problem.message, problem.hint);
  return undefined;
}

/**
 * Appends `backend` unless a backend with the same normalized URL (or name) is already there;
 * records the duplicate at `path` otherwise.
 */
export function addBackend(
  c: IssueCollector,
  backends: BackendConfig[],
  backend: BackendConfig,
  path: string,
  node: Node | undefined,
): void {
  const sameUrl = backends.findIndex((b) => b.url === backend.url);
  if (sameUrl >= 0) {
    c.report(path, node, `duplicate backend ${backend.url} (already listed as backend ${sameUrl + 1})`, 'list each backend once; raise its weight instead');
    return;
  }
  if (backend.name !== undefined && backends.some((b) => b.name === backend.name)) {
    c.report(path, node, `duplicate backend name "${backend.name}"`, 'backend names must be unique within a pool');
    return;
  }
  backends.push(backend);
}

function readBackends(r: MapReader): BackendConfig[] {
  const backends: BackendConfig[] = [];
  const node = r.get('backends');
  if (node === undefined) return backends;
  const items = readList(r.c, node, r.at('backends'), 'backend URLs or {url, weight, name, drain, maintenance} mappings') ?? [];
  for (const item of items) {
    if (item.node === undefined) {
      r.c.report(item.path, node, 'empty backend entry', 'expected a URL such as http://127.0.0.1:8081');
      continue;
    }
    if (isMap(item.node)) {
      const b = new MapReader(r.c, item.node, item.path, ['url', 'weight', 'name', 'drain', 'maintenance']);
      const weight = b.int('weight', 1, { min: 1, max: 1000 });
      const name = b.optionalString('name', 'expected a short display name');
      const flags = { ...(b.bool('drain', false) ? { drain: true as const } : {}), ...(b.bool('maintenance', false) ? { maintenance: true as const } : {}) };
      const urlNode = b.get('url');
      if (urlNode === undefined) {
        r.c.report(item.path, item.node, 'backend has no url', 'expected { url: http://host:port, weight: 1 }');
        continue;
      }
      const raw = readString(r.c, urlNode, b.at('url'), 'expected a URL such as http://127.0.0.1:8081');
      const url = raw !== undefined ? readBackendUrl(r.c, urlNode, b.at('url'), raw) : undefined;
      if (url !== undefined) addBackend(r.c, backends, { url, weight, ...(name !== undefined ? { name } : {}), ...flags }, b.at('url'), urlNode);
    } else {
      const raw = readString(r.c, item.node, item.path, 'expected a URL such as http://127.0.0.1:8081 or { url, weight }');
      const url = raw !== undefined ? readBackendUrl(r.c, item.node, item.path, raw) : undefined;
      if (url !== undefined) addBackend(r.c, backends, { url, weight: 1 }, item.path, item.node);
    }
  }
  return backends;
}

const STATUS_HINT = 'expected statuses such as 200, "2xx", "200-399" or a list of them';

function readStatusRange(c: IssueCollector, node: Node, path: string): [number, number] | undefined {
  const raw = isScalar(node) ? String(node.value).trim().toLowerCase() : '';
  let range: [number, number] | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^([1-5])xx$/.exec(raw)) !== null) range = [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
  else if ((m = /^(\d{3})\s*-\s*(\d{3})$/.exec(raw)) !== null) range = [Number(m[1]), Number(m[2])];
  else if (/^\d{3}$/.test(raw)) range = [Number(raw), Number(raw)];
  if (range !== undefined && range[0] >= 100 && range[1] <= 599 && range[0] <= range[1]) return range;
  c.report(path, node, `${describeNode(node)} is not an HTTP status or range`, STATUS_HINT);
  return undefined;
}

function readHealthCheck(r: MapReader): PoolConfig['healthCheck'] {
  const d = POOL_DEFAULTS.healthCheck;
  const keys = ['type', 'path', 'interval', 'timeout', 'rise', 'fall', 'expect_status', 'jitter', 'service'];
  const { enabled, section: h } = r.toggle('health_check', d.enabled, keys);
  const type = h.oneOf('type', d.type, ['http', 'tcp', 'grpc']);
  const service = h.has('service') ? readGrpcService(h, type) : undefined;
  const path = h.string('path', d.path, 'expected a path such as /health');
  if (!path.startsWith('/')) h.c.report(h.at('path'), h.get('path'), `"${path}" does not start with /`, `expected a path such as /${path}`);
  let expectStatus = d.expectStatus.map(([lo, hi]): [number, number] => [lo, hi]);
  const statusNode = h.get('expect_status');
  if (statusNode !== undefined) {
    const items = readList(h.c, statusNode, h.at('expect_status'), 'statuses', true) ?? [];
    const ranges = items.flatMap((i) => (i.node !== undefined ? [readStatusRange(h.c, i.node, i.path)] : []));
    if (ranges.length > 0 && ranges.every((x) => x !== undefined)) expectStatus = ranges as Array<[number, number]>;
  }
  return {
    enabled,
    type,
    path: path.startsWith('/') ? path : d.path,
    ...(service !== undefined ? { service } : {}),
    intervalMs: h.duration('interval', d.intervalMs, 1),
    timeoutMs: h.duration('timeout', d.timeoutMs, 1),
    rise: h.int('rise', d.rise, { min: 1, max: 100 }),
    fall: h.int('fall', d.fall, { min: 1, max: 100 }),
    expectStatus,
    jitter: h.number('jitter', d.jitter, { min: 0, max: 1 }),
  };
}

/** `health_check.service`: the gRPC service asked about (grpc.health.v1 HealthCheckRequest.service). */
function readGrpcService(h: MapReader, type: PoolConfig['healthCheck']['type']): string | undefined {
  if (type !== 'grpc') {
    h.c.report(h.at('service'), h.get('service'), `service applies to type: grpc, not ${type}`, 'set type: grpc, or remove service');
    return undefined;
  }
  const service = h.optionalString('service', 'expected a gRPC service name such as helloworld.Greeter');
  if (service !== undefined && /[\x00-\x1f\x7f]/.test(service)) {
    h.c.report(h.at('service'), h.get('service'), 'the service name contains control characters', 'expected a gRPC service name such as helloworld.Greeter');
    return undefined;
  }
  return service;
}

function readCircuitBreaker(r: MapReader): PoolConfig['circuitBreaker'] {
  const d = POOL_DEFAULTS.circuitBreaker;
  const keys = ['failure_threshold', 'reset_timeout', 'half_open_requests', 'count_5xx'];
  const { enabled, section: b } = r.toggle('circuit_breaker', d.enabled, keys);
  return {
    enabled,
    failureThreshold: b.int('failure_threshold', d.failureThreshold, { min: 1, max: 10_000 }),
    resetTimeoutMs: b.duration('reset_timeout', d.resetTimeoutMs, 1),
    halfOpenRequests: b.int('half_open_requests', d.halfOpenRequests, { min: 1, max: 1000 }),
    countHttp5xx: b.bool('count_5xx', d.countHttp5xx),
  };
}

function readRetry(r: MapReader): PoolConfig['retry'] {
  const d = POOL_DEFAULTS.retry;
  const keys = ['attempts', 'retry_non_idempotent', 'on_status', 'backoff_base', 'backoff_cap', 'max_body', 'budget_percent', 'budget_min', 'per_try_timeout'];
  const t = r.map('retry', keys);
  const onStatus: number[] = [];
  const statusNode = t.get('on_status');
  if (statusNode !== undefined) {
    for (const item of readList(t.c, statusNode, t.at('on_status'), 'HTTP statuses such as 502, 503', true) ?? []) {
      const s = item.node !== undefined ? readNumber(t.c, item.node, item.path, { integer: true, min: 100, max: 599 }) : undefined;
      if (s !== undefined && !onStatus.includes(s)) onStatus.push(s);
    }
  }
  const backoffBaseMs = t.duration('backoff_base', d.backoffBaseMs);
  let backoffCapMs = t.duration('backoff_cap', d.backoffCapMs);
  if (backoffCapMs < backoffBaseMs) {
    t.c.report(t.at('backoff_cap'), t.get('backoff_cap') ?? t.get('backoff_base'), 'backoff_cap is shorter than backoff_base', 'expected backoff_cap >= backoff_base');
    backoffCapMs = backoffBaseMs;
  }
  return {
    attempts: t.int('attempts', d.attempts, { min: 0, max: 10 }),
    retryNonIdempotent: t.bool('retry_non_idempotent', d.retryNonIdempotent),
    onStatus,
    backoffBaseMs,
    backoffCapMs,
    maxBodyBytes: t.bytes('max_body', d.maxBodyBytes),
    budgetPercent: t.number('budget_percent', d.budgetPercent, { min: 0, max: 100 }),
    budgetMinRetries: t.int('budget_min', d.budgetMinRetries, { min: 0 }),
    perTryTimeoutMs: t.duration('per_try_timeout', d.perTryTimeoutMs),
  };
}

function readOutlier(r: MapReader): PoolConfig['outlier'] {
  const d = POOL_DEFAULTS.outlier;
  const keys = ['consecutive_failures', 'count_5xx', 'base_ejection_time', 'max_ejection_time', 'max_ejection_percent'];
  const { enabled, section: o } = r.toggle('outlier_detection', d.enabled, keys);
  const baseEjectionMs = o.duration('base_ejection_time', d.baseEjectionMs, 1);
  let maxEjectionMs = o.duration('max_ejection_time', d.maxEjectionMs, 1);
  if (maxEjectionMs < baseEjectionMs) {
    o.c.report(o.at('max_ejection_time'), o.get('max_ejection_time') ?? o.get('base_ejection_time'), 'max_ejection_time is shorter than base_ejection_time', 'expected max_ejection_time >= base_ejection_time');
    maxEjectionMs = baseEjectionMs;
  }
  return {
    enabled,
    consecutiveFailures: o.int('consecutive_failures', d.consecutiveFailures, { min: 1, max: 10_000 }),
    count5xx: o.bool('count_5xx', d.count5xx),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: o.number('max_ejection_percent', d.maxEjectionPercent, { min: 0, max: 100 }),
  };
}

function readUpstreamTls(r: MapReader, baseDir: string | undefined): UpstreamTlsConfig | undefined {
  if (!r.has('tls')) return undefined;
  const t = r.map('tls', ['ca', 'cert', 'key', 'servername', 'verify']);
  const path = (key: string, what: string): string | undefined => {
    const p = t.optionalString(key, `expected a path to a PEM ${what}`);
    return p === undefined ? undefined : baseDir !== undefined && !isAbsolute(p) ? resolve(baseDir, p) : p;
  };
  const ca = path('ca', 'CA bundle');
  const cert = path('cert', 'client certificate');
  const key = path('key', 'client private key');
  if (t.has('cert') !== t.has('key')) {
    const [present, missing] = t.has('cert') ? ['cert', 'key'] : ['key', 'cert'];
    t.c.report(t.at(missing), t.get(present), `tls.${present} needs tls.${missing}`, 'a client certificate (mTLS) needs both cert: and key:');
  }
  const servername = t.optionalString('servername', 'expected a host name such as api.internal');
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    ...(servername !== undefined ? { servername } : {}),
    verify: t.bool('verify', true),
  };
}

/** Reads the name of a pool, which appears in admin URLs and metric labels. */
function readPoolName(r: MapReader, defaultName: string | undefined): string {
  const name = r.optionalString('name', 'expected a name of letters, digits, ".", "_" or "-"');
  if (name === undefined) {
    if (defaultName === undefined && !r.has('name') && isMap(r.node)) {
      r.c.report(r.at('name'), r.node, 'pool has no name', 'give every pool a unique name: when there are several');
    }
    return defaultName ?? '';
  }
  if (!POOL_NAME.test(name)) {
    r.c.report(r.at('name'), r.get('name'), `"${name}" is not a valid pool name`, 'expected letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  return name;
}

/**
 * Validates a pool's keys in `r` into a complete `PoolConfig`; issues go to `r.c`. The
 * backend list may be empty here: flags and the environment can still supply it.
 */
export function readPool(r: MapReader, defaultName: string | undefined, baseDir?: string): PoolConfig {
  const d = POOL_DEFAULTS;
  const strategyNode = r.get('strategy');
  const sticky = r.toggle('sticky', d.sticky.enabled, ['cookie', 'ttl', 'secret']);
  const secret = sticky.section.optionalString('secret', STICKY_SECRET_HINT);
  if (secret !== undefined && secret.length < MIN_STICKY_SECRET_LENGTH) {
    r.c.report(sticky.section.at('secret'), sticky.section.get('secret'), `the sticky secret is ${secret.length} characters long`, STICKY_SECRET_HINT);
  }
  const cookie = sticky.section.string('cookie', d.sticky.cookie, 'expected a cookie name (letters, digits, _ and -)');
  if (!COOKIE_NAME.test(cookie)) {
    r.c.report(sticky.section.at('cookie'), sticky.section.get('cookie'), `"${cookie}" is not a valid cookie name`, 'expected letters, digits, _ and - (RFC 6265 token)');
  }
  const queue = r.map('queue', ['size', 'timeout']);
  const timeouts = r.map('timeouts', ['connect', 'response', 'idle', 'tunnel']);
  const tls = readUpstreamTls(r, baseDir);
  const name = readPoolName(r, defaultName);
  const match = readMatch(r);
  const strategy = (strategyNode !== undefined ? readStrategy(r.c, strategyNode, r.at('strategy')) : undefined) ?? d.strategy;
  const backends = readBackends(r);
  const pool: PoolConfig = {
    name,
    match,
    protocol: readProtocol(r, backends),
    strategy,
    backends,
    healthCheck: readHealthCheck(r),
    circuitBreaker: readCircuitBreaker(r),
    retry: readRetry(r),
    timeouts: {
      connectMs: timeouts.duration('connect', d.timeouts.connectMs, 1),
      responseMs: timeouts.duration('response', d.timeouts.responseMs, 1),
      idleMs: timeouts.duration('idle', d.timeouts.idleMs, 1),
      tunnelIdleMs: timeouts.duration('tunnel', d.timeouts.tunnelIdleMs, 0),
    },
    maxConnections: r.int('max_connections', d.maxConnections, { min: 0 }),
    queue: { size: queue.int('size', d.queue.size, { min: 0 }), timeoutMs: queue.duration('timeout', d.queue.timeoutMs, 1) },
    sticky: {
      enabled: sticky.enabled,
      cookie: COOKIE_NAME.test(cookie) ? cookie : d.sticky.cookie,
      ttlMs: sticky.section.duration('ttl', d.sticky.ttlMs, 1),
      ...(secret !== undefined && secret.length >= MIN_STICKY_SECRET_LENGTH ? { secret } : {}),
    },
    rateLimit: readRateLimit(r),
    outlier: readOutlier(r),
    panicThreshold: r.number('panic_threshold', d.panicThreshold, { min: 0, max: 100 }),
    slowStartMs: r.duration('slow_start', d.slowStartMs),
    ...(tls !== undefined ? { tls } : {}),
  };
  const rewrite = readRewrite(r, pool.match);
  if (rewrite !== undefined) pool.rewrite = rewrite;
  const requestHeaders = readHeaderRules(r, 'request_headers');
  if (requestHeaders !== undefined) pool.requestHeaders = requestHeaders;
  const responseHeaders = readHeaderRules(r, 'response_headers');
  if (responseHeaders !== undefined) pool.responseHeaders = responseHeaders;
  const redirects = readRedirects(r);
  if (redirects !== undefined) pool.redirects = redirects;
  const compression = readCompression(r);
  if (compression !== undefined) pool.compression = compression;
  const dns = readDns(r, pool.backends, tls?.servername);
  return dns !== undefined ? { ...pool, dns } : pool;
}
