/**
 * The normalized configuration every part of velo reads. The loader turns the YAML/JSON file,
 * the environment and the command-line flags into exactly this shape: every duration is in
 * milliseconds, every default is filled in, the short (one-pool) form becomes `pools[0]`.
 */

import type { HeaderRules } from '../engine/header-rules.js';
import type { RedirectConfig } from '../engine/redirects.js';
import type { CompressionConfig } from '../engine/compression.js';
import type { ConfigIssue } from '../errors.js';

/** Canonical strategy names; aliases are resolved by `balancing/registry.ts`. */
export type StrategyName =
  | 'round-robin'
  | 'weighted-round-robin'
  | 'least-connections'
  | 'random'
  | 'ip-hash'
  | 'url-hash'
  | 'power-of-two'
  | 'least-latency';

export interface BackendConfig {
  url: string;
  weight: number;
  name?: string;
  /** Starts draining: no new requests (written by `velo config save` for a runtime drain). */
  drain?: true;
  /** Starts in maintenance: out of rotation for everyone, still health-checked (HAProxy `disabled`). */
  maintenance?: true;
}

export interface HealthCheckConfig {
  enabled: boolean;
  /** `http`: GET `path`; `tcp`: a connect; `grpc`: grpc.health.v1.Health/Check (src/health/grpc-check.ts). */
  type: 'http' | 'tcp' | 'grpc';
  path: string;
  /** `grpc` only: the service name asked about; absent (or empty) asks about the whole server. */
  service?: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive passes that bring a backend up (HAProxy `rise`). */
  rise: number;
  /** Consecutive failures that take a backend down (HAProxy `fall`). */
  fall: number;
  /** Accepted statuses, e.g. `[[200, 299]]`. */
  expectStatus: Array<[number, number]>;
  /** Fraction of the interval (0..1) by which each probe is randomly spread. */
  jitter: number;
}

export interface CircuitBreakerConfig {
  enabled: boolean;
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  resetTimeoutMs: number;
  /** Probe requests allowed while half-open; that many successes close it. */
  halfOpenRequests: number;
  /** Count 5xx responses from the backend as failures. */
  countHttp5xx: boolean;
}

export interface RetryConfig {
  /** Additional attempts after the first one (0 disables retries). */
  attempts: number;
  /** Retry non-idempotent methods after a failure other than a connect error. */
  retryNonIdempotent: boolean;
  /** Statuses from a backend that make an idempotent request try another backend. */
  onStatus: number[];
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Request bodies up to this size are kept so they can be replayed. */
  maxBodyBytes: number;
  /** Retry budget: fraction of active requests that may be retries. */
  budgetPercent: number;
  /** Retries always allowed regardless of the budget. */
  budgetMinRetries: number;
  /** Timeout for each try; 0 means only `timeouts.response` applies. */
  perTryTimeoutMs: number;
}

export interface TimeoutsConfig {
  connectMs: number;
  /** Time to the upstream's response headers (504 when exceeded). */
  responseMs: number;
  /** Idle keep-alive connections to a backend are closed after this. */
  idleMs: number;
  /** An upgraded connection (WebSocket tunnel) with no byte either way for this long is closed; 0 = never. */
  tunnelIdleMs: number;
}

export interface QueueConfig {
  /** Requests that may wait for a free slot when `max_connections` is reached. */
  size: number;
  timeoutMs: number;
}

export interface StickyConfig {
  enabled: boolean;
  cookie: string;
  /** How long a cookie pins: its Max-Age and the signed expiry velo checks. */
  ttlMs: number;
  /**
   * HMAC-SHA256 key for the cookie (at least 32 characters). Absent: a random secret per
   * process start, so a restart rebalances every sticky client.
   */
  secret?: string;
}

/** One `rate_limit.routes` entry: its own token bucket per client IP for matching requests. */
export interface RateLimitRoute {
  /** Policy name in the RateLimit header fields; unique within the pool. */
  name: string;
  /** Matches requests whose path starts with this (case-insensitively, after normalization). */
  pathPrefix: string;
  /** Upper-case methods the route applies to; undefined means every method. */
  methods?: string[];
  /** Sustained requests per second per client IP. */
  rps: number;
  /** Requests a client may make at once (the bucket's size). */
  burst: number;
}

export interface RateLimitConfig {
  /** The pool-wide bucket is on (requests that match no route are limited by it). */
  enabled: boolean;
  /** Sustained requests per second per client IP. */
  rps: number;
  burst: number;
  /** Checked in order; the first match replaces the pool-wide bucket for that request. Apply even when `enabled` is false. */
  routes: RateLimitRoute[];
}

export interface OutlierConfig {
  enabled: boolean;
  consecutiveFailures: number;
  count5xx: boolean;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
}

export interface PoolMatch {
  /** Lower-cased host without port; undefined matches any host. */
  host?: string;
  pathPrefix?: string;
}

/**
 * How velo speaks to a pool's backends: `h1` HTTP/1.1, `h2` HTTP/2 over TLS chosen by ALPN
 * (https backends), `h2c` cleartext HTTP/2 with prior knowledge (http backends).
 */
export type UpstreamProtocol = 'h1' | 'h2' | 'h2c';

export interface PoolConfig {
  name: string;
  match: PoolMatch;
  /** `protocol:` towards the backends (src/upstream/h2.ts); `h1` by default. */
  protocol: UpstreamProtocol;
  /** `strip_prefix: true`: `match.path_prefix` taken off the path sent to the backend; `add_prefix`: put on (no trailing `/`). */
  rewrite?: { stripPrefix?: string; addPrefix?: string };
  /** `request_headers` / `response_headers`: remove, set, add (src/engine/header-rules.ts). */
  requestHeaders?: HeaderRules;
  responseHeaders?: HeaderRules;
  /** `redirects`: to https and to a canonical host, answered by velo (src/engine/redirects.ts); undefined: none. */
  redirects?: RedirectConfig;
  /** `compression`: gzip/br of matching responses (src/engine/compression.ts); undefined: responses pass as they are. */
  compression?: CompressionConfig;
  strategy: StrategyName;
  backends: BackendConfig[];
  healthCheck: HealthCheckConfig;
  circuitBreaker: CircuitBreakerConfig;
  retry: RetryConfig;
  timeouts: TimeoutsConfig;
  /**
   * Per-backend in-flight limit (requests and tunnels, counted by velo); 0 means unlimited. Over
   * HTTP/1.1 each is a connection; over HTTP/2 they are streams sharing few connections.
   */
  maxConnections: number;
  queue: QueueConfig;
  sticky: StickyConfig;
  rateLimit: RateLimitConfig;
  outlier: OutlierConfig;
  /** Envoy panic threshold in percent; 0 disables panic mode. */
  panicThreshold: number;
  /** Linear weight ramp for a returning backend; 0 disables it. */
  slowStartMs: number;
  /** TLS settings for https backends; undefined uses Node's defaults (system CAs, verify). */
  tls?: UpstreamTlsConfig;
  /** DNS discovery (`dns:` and `srv:` keys, src/discovery); undefined: host names are left to the system resolver. */
  dns?: PoolDnsConfig;
}

/**
 * How a pool's host names are resolved (src/discovery/dns-provider.ts). `single`: one backend per
 * name, new connections go to its current address; `strict` (Envoy's strict_dns): every address
 * is a backend of its own.
 */
export interface PoolDnsConfig {
  mode: 'single' | 'strict';
  /** Name servers as `ip` or `ip:port` (`[v6]:port`); empty: those of /etc/resolv.conf. */
  servers: string[];
  /** Bounds of the re-resolve interval: the answer's TTL (RFC 1035 section 3.2.1) clamped to them, ms. */
  minTtlMs: number;
  maxTtlMs: number;
  /** Start even when a name does not resolve (its backends appear once it does). */
  allowUnresolved: boolean;
  /** SRV names (RFC 2782), e.g. `_http._tcp.api.internal`: host, port and weight of each backend. */
  srv: string[];
}

/** How velo connects to https backends (undici `connect` options). */
export interface UpstreamTlsConfig {
  /** Absolute path of a PEM CA bundle trusted instead of Node's built-in roots. */
  ca?: string;
  /** Absolute paths of a client certificate and key (mTLS); both or neither. */
  cert?: string;
  key?: string;
  /** SNI name and the name the certificate is checked against; defaults to the URL's host. */
  servername?: string;
  /** Verify the backend's certificate (false is logged as a warning at start). */
  verify: boolean;
}

/** TLS protocol versions a listener may require, as Node's `minVersion` names them. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** One `listen.tls.certificates` entry: served to clients whose SNI names one of `hosts`. */
export interface SniCertificateConfig {
  /** Lower-cased host names; `*.example.com` matches exactly one label (RFC 6125 section 6.4.3). */
  hosts: string[];
  /** Absolute paths of PEM files. */
  cert: string;
  key: string;
}

export interface ListenTlsConfig {
  /** Absolute paths of the default certificate chain and key (PEM). */
  cert: string;
  key: string;
  /** Oldest protocol version accepted (Node `minVersion`). */
  minVersion: TlsVersion;
  /** OpenSSL cipher list for TLSv1.2 and older; undefined keeps Node's default. */
  ciphers?: string;
  /** Certificates chosen by SNI; a client naming none of their hosts gets the default pair. */
  certificates: SniCertificateConfig[];
}

export interface ListenConfig {
  host: string;
  port: number;
  tls?: ListenTlsConfig;
  /** PROXY protocol v1/v2 is required from these peers (IPs/CIDRs) and refused from others. */
  proxyProtocol?: { trusted: string[] };
  /**
   * `listen.http2`: a TLS listener offers `h2` besides `http/1.1` by ALPN (RFC 7301, RFC 9113
   * section 3.2). Absent means on, as in Caddy and Traefik; false offers HTTP/1.1 only.
   */
  http2?: boolean;
  /**
   * `listen.h2c`: a plain listener also accepts cleartext HTTP/2 with prior knowledge (RFC 9113
   * section 3.3): a connection that opens with the HTTP/2 preface is HTTP/2, any other HTTP/1.1.
   */
  h2c?: boolean;
}

export interface AdminConfig {
  enabled: boolean;
  host: string;
  port: number;
  token?: string;
}

/** How an access-log line is written (src/metrics/access-line-formats.ts). */
export type AccessLogFormat = 'json' | 'logfmt' | 'common';

export interface AccessLogConfig {
  enabled: boolean;
  /** `stdout` or a file path. */
  target: string;
  /** Line format; absent means `json` (set only when the file names one). */
  format?: AccessLogFormat;
  /** `access_log.store`: the queryable SQLite store (src/store/); undefined when off (the default). */
  store?: LogStoreConfig;
}

/** `access_log.store: { path, retention, max_size }`: where records and events are kept, and for how long. */
export interface LogStoreConfig {
  /** Absolute path of the SQLite database file (relative paths resolve against the config file's directory). */
  path: string;
  /** Rows older than this are deleted in the background; ms (default 7d). */
  retentionMs: number;
  /** The oldest rows are deleted while the database is larger than this; bytes (default 1GB). */
  maxBytes: number;
}

/** `tracing:`: W3C Trace Context headers (src/engine/trace-context.ts). */
export interface TracingConfig {
  /** Continue the client's `traceparent` (or start one) with velo's span as the parent; false leaves both trace headers alone. */
  propagate: boolean;
}

/** `cluster:`: other velo instances share rate limits and runtime changes through this Redis. */
export interface ClusterConfig {
  /** `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS, or `unix:///path/redis.sock[?db=N]`. */
  redis: string;
  /** Prefix of every key and channel (instances that share state share it); default `velo:`. */
  prefix: string;
  /** This instance's name among its peers; default `hostname:port`. */
  instance?: string;
}

/**
 * `providers.docker:`: containers labelled `{label_prefix}.enable=true` join a pool
 * (src/discovery/docker-provider.ts, docs/discovery.md).
 */
export interface DockerProviderConfig {
  /** `unix:///var/run/docker.sock` (default: `$DOCKER_HOST`, else that socket), `tcp://host:2375` or `http://host:2375`. */
  endpoint: string;
  /** Label namespace: `velo` reads `velo.enable`, `velo.pool`, `velo.port`, `velo.weight`, `velo.address`, `velo.network`. */
  labelPrefix: string;
  /**
   * How a container's address is found unless its `{prefix}.address` label says otherwise:
   * `auto` (host networking -> `host`, else `container-ip`), `host` (`host`:port, for
   * `--network host`), `container-ip` (its IP on `network`), `published` (the host port
   * published for the container port, at its host IP, 0.0.0.0 read as `host`).
   */
  address: DockerAddressMode;
  /** For `container-ip`: the Docker network whose IP is used; default the container's first. */
  network?: string;
  /** The host's address for `host` and `published` (default 127.0.0.1). */
  host: string;
}

export type DockerAddressMode = 'auto' | 'host' | 'container-ip' | 'published';

/** `providers:`: discovery sources besides the config file (docs/discovery.md). */
export interface ProvidersConfig {
  docker?: DockerProviderConfig;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface VeloConfig {
  listen: ListenConfig;
  admin: AdminConfig;
  pools: PoolConfig[];
  accessLog: AccessLogConfig;
  tracing: TracingConfig;
  ipFilter: { allow: string[]; deny: string[] };
  /** Peers (IPs/CIDRs) whose X-Forwarded-For is believed; `true` trusts every peer. */
  trustProxy: boolean | string[];
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /** Client-side header timeout (slowloris defence). */
  clientHeaderTimeoutMs: number;
  clientRequestTimeoutMs: number;
  /** A TLS client must finish its handshake (and send its first byte) within this time. */
  clientTlsHandshakeTimeoutMs: number;
  /**
   * Forwarding processes sharing the listen port (node:cluster): 1 forwards in the one process
   * (the default); `auto` is one per available core (`os.availableParallelism()`).
   */
  workers: number | 'auto';
  /** State shared with other velo instances through Redis; undefined = this instance alone. */
  cluster?: ClusterConfig;
  /** Discovery providers (Docker); undefined = backends come from the file and runtime changes only. */
  providers?: ProvidersConfig;
  /** Absolute path of the file this config came from, if any. */
  source?: string;
  /** Problems that do not stop velo (a pool with no backends), with path, line and column. */
  warnings?: ConfigIssue[];
}
