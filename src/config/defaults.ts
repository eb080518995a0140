/**
 * Every default of velo's configuration, in one place. The loader starts from these values and
 * overlays the file, the environment and the flags; the `velo init` template documents them.
 */
import type { PoolConfig, VeloConfig } from './types.js';

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

/** Top-level defaults (everything but the pools); deeply frozen. */
export const DEFAULTS = deepFreeze({
  /** Where clients connect. */
  listen: { host: '0.0.0.0', port: 8080 },
  /**
   * The admin API has its own port and stays on loopback unless told otherwise. 8407: not
   * Prometheus's 9090, nor in 9091-9999 (Pushgateway, Alertmanager and the exporters' allocated
   * range), nor beside velo's 8080 and its backends' 8081+, nor HAProxy's 8404/8405 or Envoy's 9901.
   */
  admin: { enabled: true, host: '127.0.0.1', port: 8407 },
  /** One line per request. */
  accessLog: { enabled: true, target: 'stdout' },
  /**
   * W3C Trace Context on: each request reaches its backend with a `traceparent` (the client's
   * trace continued, or a new one) and its trace-id is logged. Envoy and nginx's otel module
   * propagate whenever tracing is enabled; velo has no exporter, so this is all of it.
   */
  tracing: { propagate: true },
  /** Empty lists: every client is allowed. */
  ipFilter: { allow: [], deny: [] },
  /** X-Forwarded-For from clients is ignored unless the peer is trusted. */
  trustProxy: false,
  /** In-flight requests get this long to finish on SIGTERM/SIGINT. */
  shutdownTimeoutMs: 10_000,
  /** One process forwards; `workers: auto` or `--workers N` adds cores (cluster.ts). */
  workers: 1 as number | 'auto',
  logLevel: 'info',
  /** Slowloris defence: a client must send its headers within this time. */
  clientHeaderTimeoutMs: 10_000,
  /** A client must send its whole request within this time. */
  clientRequestTimeoutMs: 60_000,
  /** A TLS client that has not finished its handshake by then is disconnected (nginx: 60s; Node: 120s). */
  clientTlsHandshakeTimeoutMs: 10_000,
} satisfies Omit<VeloConfig, 'pools' | 'source'>);

/** Defaults of `listen.tls` besides the certificate paths. */
export const TLS_DEFAULTS = deepFreeze({
  /** TLSv1.0 and 1.1 are deprecated (RFC 8996). */
  minVersion: 'TLSv1.2',
} as const);

/** Defaults of every pool setting except `name`, `match` and `backends`; deeply frozen. */
export const POOL_DEFAULTS = deepFreeze({
  strategy: 'round-robin',
  /** HTTP/1.1 to backends unless a pool says `h2` or `h2c`. */
  protocol: 'h1',
  healthCheck: {
    enabled: true,
    type: 'http',
    path: '/health',
    intervalMs: 5_000,
    timeoutMs: 2_000,
    /** HAProxy's defaults are 2 and 3: quick to trust again, slow to give up. */
    rise: 2,
    fall: 3,
    expectStatus: [[200, 299]],
    /** Spread probes by ±10% of the interval so backends are not probed in lockstep. */
    jitter: 0.1,
  },
  circuitBreaker: {
    enabled: true,
    failureThreshold: 5,
    resetTimeoutMs: 30_000,
    halfOpenRequests: 1,
    /** Off by default: a backend's 5xx passes through and is the application's business. */
    countHttp5xx: false,
  },
  retry: {
    attempts: 2,
    retryNonIdempotent: false,
    onStatus: [],
    /** Exponential backoff with full jitter, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ */
    backoffBaseMs: 25,
    backoffCapMs: 250,
    maxBodyBytes: 64 * 1024,
    /** Envoy-style retry budget: retries may be at most 20% of active requests, min 3. */
    budgetPercent: 20,
    budgetMinRetries: 3,
    perTryTimeoutMs: 0,
  },
  timeouts: { connectMs: 5_000, responseMs: 30_000, idleMs: 60_000, tunnelIdleMs: 3_600_000 },
  /** 0: no per-backend in-flight limit. */
  maxConnections: 0,
  /** 0: no queue; with max_connections reached a request gets 503 at once. */
  queue: { size: 0, timeoutMs: 5_000 },
  /** No `secret`: cookies are signed with a random secret made at each start. */
  sticky: { enabled: false, cookie: 'velo_sticky', ttlMs: 3_600_000 },
  /** Per client IP token bucket; `routes` give paths and methods their own buckets. */
  rateLimit: { enabled: false, rps: 100, burst: 200, routes: [] },
  outlier: {
    enabled: false,
    consecutiveFailures: 5,
    count5xx: false,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    /** Never eject more than half of a pool. */
    maxEjectionPercent: 50,
  },
  /** 0: panic mode off. */
  panicThreshold: 0,
  /** 0: a returning backend gets its full weight at once. */
  slowStartMs: 0,
} satisfies Omit<PoolConfig, 'name' | 'match' | 'backends'>);

/** Defaults of a pool's `dns:` section (src/discovery); deeply frozen. */
export const DNS_DEFAULTS = deepFreeze({
  mode: 'single' as 'single' | 'strict',
  /** Empty: the name servers of /etc/resolv.conf. */
  servers: [] as string[],
  /** A TTL of 0 or 1 s (RFC 1035 allows it) must not become a query loop. */
  minTtlMs: 5_000,
  /** A TTL of a day must not hide a moved backend for a day. */
  maxTtlMs: 300_000,
  allowUnresolved: false,
  /** One query's timeout and tries (c-ares `timeout`, `tries`): a dead server is known in about 4 s. */
  queryTimeoutMs: 2_000,
  queryTries: 2,
});

/** A pool's `redirects:` when written without `https_port` (src/engine/redirects.ts). */
export const REDIRECT_DEFAULTS = deepFreeze({
  /** Left out of the Location (the default port of https). */
  httpsPort: 443,
});

/** A pool's `compression:` written as `true` or without some keys (src/engine/compression.ts); off unless written. */
export const COMPRESSION_DEFAULTS = deepFreeze({
  /** Brotli first: smaller than gzip at the quality velo uses; every current browser sends `br`. */
  algorithms: ['br', 'gzip'] as Array<'br' | 'gzip'>,
  /** Below 1 KiB the saving is smaller than the cost (a gzip header and trailer alone are 18 bytes); bytes. */
  minBytes: 1024,
  /**
   * Text and text-like types. Images (but SVG), video, audio, archives and fonts other than
   * TTF/OTF are compressed already. `text/*` does not match `text/event-stream`.
   */
  types: [
    'text/*',
    'application/json',
    'application/javascript',
    'application/xml',
    'application/xhtml+xml',
    'application/rss+xml',
    'application/atom+xml',
    'application/ld+json',
    'application/manifest+json',
    'application/geo+json',
    'application/wasm',
    'image/svg+xml',
    'image/x-icon',
    'font/ttf',
    'font/otf',
  ],
});

/** Name of the single pool of the short form. */
export const DEFAULT_POOL_NAME = 'default';

/** `access_log.store` when written without some of its keys (the store itself is off unless configured). */
export const DEFAULT_LOG_STORE = Object.freeze({
  path: 'velo-logs.db',
  /** 7 days. */
  retentionMs: 7 * 86_400_000,
  /** 1 GB. */
  maxBytes: 1_000_000_000,
});
