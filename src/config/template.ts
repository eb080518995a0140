/**
 * The commented default config that `velo init` writes and that ships as velo.config.yaml.
 */

/**
 * A valid short-form config (one pool, three local backends) with every section written out
 * at its default value and a one-line comment each; loading it equals loading no file plus
 * those backends.
 */
export const CONFIG_TEMPLATE = `# velo.config.yaml: every setting below is written at its default value.
# Durations: 250ms, 5s, 1m, 1m30s. Add more pools with "pools: [{ name, match, backends, ... }]".

# Where clients connect.
listen:
  host: 0.0.0.0
  port: 8080
  # tls:                      # serve HTTPS; paths relative to this file (docs/tls.md)
  #   cert: cert.pem          # reloaded when the files change, on SIGHUP and on velo reload
  #   key: key.pem
  #   min_version: TLSv1.2    # TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3
  #   ciphers: ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256   # TLSv1.2 and older; default: Node's
  #   certificates:           # chosen by SNI; any other name gets cert/key above
  #     - { hosts: [api.example.com, "*.example.com"], cert: api.pem, key: api.key }
  # proxy_protocol: { trusted: [10.0.0.0/8] }    # PROXY v1/v2 required from these peers, refused from others

# Admin API and Prometheus /metrics; a token is required when it leaves loopback.
admin:
  enabled: true
  host: 127.0.0.1
  port: 8407
  # token: change-me

# round-robin, weighted-round-robin, least-connections, random, ip-hash, url-hash, power-of-two, least-latency
strategy: round-robin

# Start three test backends with: velo backend --port 8081 (and 8082, 8083).
# A URL may end in a base path (http://10.0.0.5:8080/app): that backend is sent /app + the
# request path, health checks included.
backends:
  - http://127.0.0.1:8081
  - http://127.0.0.1:8082
  - { url: http://127.0.0.1:8083, weight: 1 }    # weight 1..1000

# How velo speaks to the backends: h1 (HTTP/1.1), h2 (HTTP/2 over TLS, https:// backends) or
# h2c (cleartext HTTP/2 with prior knowledge, http:// backends, e.g. gRPC servers).
protocol: h1

# Active probes; a backend is up after "rise" passes and down after "fall" failures.
health_check:
  enabled: true
  type: http              # http, tcp or grpc (grpc.health.v1; service: name, default the whole server)
  path: /health
  interval: 5s
  timeout: 2s
  rise: 2
  fall: 3
  expect_status: 2xx      # 200, "2xx", "200-399" or a list
  jitter: 0.1             # spread each probe by up to 10% of the interval

# Per-backend breaker: open after N consecutive failures, probe again after reset_timeout.
circuit_breaker:
  enabled: true
  failure_threshold: 5
  reset_timeout: 30s
  half_open_requests: 1
  count_5xx: false        # count a backend's 5xx answers as failures

# Failed idempotent requests try another backend, with exponential backoff and full jitter.
retry:
  attempts: 2             # extra tries after the first; 0 disables retries
  retry_non_idempotent: false
  on_status: []           # e.g. [502, 503]: backend statuses that also trigger a retry
  backoff_base: 25ms
  backoff_cap: 250ms
  max_body: 64KiB         # request bodies up to this size are kept for a replay
  budget_percent: 20      # retries may be at most this share of active requests...
  budget_min: 3           # ...but this many are always allowed
  per_try_timeout: 0s     # 0: only timeouts.response applies

# Upstream timeouts: connect, time to response headers (504 after it), keep-alive idle,
# and a WebSocket tunnel with no traffic either way (0s: never closed for idleness).
timeouts:
  connect: 5s
  response: 30s
  idle: 60s
  tunnel: 1h

# TLS to https:// backends: a private CA, a client certificate (mTLS), the name checked
# (default: the backend URL's host), and verify: false to skip checks (logged as a warning).
# tls: { ca: ca.pem, cert: client.pem, key: client.key, servername: api.internal, verify: true }

# DNS discovery (docs/discovery.md): backends named by host re-resolved on the record's TTL;
# single: one backend per name, new connections follow it; strict: one backend per address.
# dns: { mode: single, servers: [10.0.0.2:53], min_ttl: 5s, max_ttl: 5m, allow_unresolved: false }
# srv: _http._tcp.api.internal      # host, port and weight from SRV records (Consul, Kubernetes)

# In-flight requests per backend; 0 means unlimited.
max_connections: 0

# Requests that wait for a free slot when max_connections is reached; 0: answer 503 at once.
queue:
  size: 0
  timeout: 5s

# Cookie sessions that pin a client to one backend; works with every strategy.
sticky:
  enabled: false
  cookie: velo_sticky
  ttl: 1h
  # secret: <openssl rand -hex 32>   # signs the cookie; unset: random per start (restarts rebalance)

# Token bucket per client IP; over the limit velo answers 429 with Retry-After and RateLimit headers.
rate_limit:
  enabled: false
  rps: 100
  burst: 200
  # The first route whose path_prefix and methods match uses its own bucket instead of the
  # pool-wide one (enabled, rps, burst), which may stay off: routes apply whenever listed.
  routes: []              # e.g. [{ name: login, path_prefix: /login, methods: [POST], rps: 2, burst: 2 }]

# Eject a backend after consecutive failures, for longer each time it happens again.
outlier_detection:
  enabled: false
  consecutive_failures: 5
  count_5xx: false
  base_ejection_time: 30s
  max_ejection_time: 300s
  max_ejection_percent: 50

# Below this percentage of healthy backends, balance over all of them; 0 disables panic mode.
panic_threshold: 0

# Ramp a returning backend's weight up over this long; 0 disables it.
slow_start: 0s

# Redirects velo answers itself (301 for GET/HEAD, 308 for other methods), before rate limiting
# (docs/rewriting.md): plain HTTP to https (unless a trusted proxy's X-Forwarded-Proto says
# https), and www.example.com to example.com (strip_www) or any other host to canonical_host.
# redirects: { https: true, https_port: 443, strip_www: true }    # or canonical_host: example.com

# gzip/Brotli for responses the client accepts, of these types, from min_size up; off unless
# written (compression: true takes these defaults; text/* never matches text/event-stream).
# compression: { algorithms: [br, gzip], min_size: 1KiB, types: [text/*, application/json, application/javascript, image/svg+xml] }

# One line per request: true, false, stdout or a file path.
access_log: stdout
# To also keep requests and events in a queryable SQLite file (velo logs, velo events,
# GET /api/logs), write access_log as a mapping instead:
# access_log:
#   path: stdout
#   store:
#     path: velo-logs.db     # relative to this file
#     retention: 7d          # older rows are deleted
#     max_size: 1GB          # then the oldest while the file is larger

# Client IPs and CIDRs; an empty allow list allows everyone, deny wins over allow (403).
ip_filter:
  allow: []
  deny: []

# Peers whose X-Forwarded-For is believed: false, true, or a list of IPs/CIDRs.
trust_proxy: false

# W3C Trace Context: each request reaches its backend with a traceparent (the client's trace
# continued with velo's span as the parent, or a new trace), and its trace_id is logged.
# false leaves traceparent and tracestate alone.
tracing:
  propagate: true

# How long in-flight requests may finish on SIGTERM/SIGINT.
shutdown_timeout: 10s

# debug, info, warn, error or silent.
log_level: info

# Forwarding processes sharing the port: 1 forwards in this process; a number, or auto for
# one per core (health checks, the admin API and the dashboard stay in one control plane).
workers: 1

# Instances sharing rate limits and runtime changes through Redis (off unless set):
# cluster:
#   redis: redis://127.0.0.1:6379
#   prefix: "velo:"

# Slowloris defence: time for a client to send its headers, its whole request, and to finish
# a TLS handshake (a connection that has not is closed, nothing written to it).
client_timeouts:
  header: 10s
  request: 60s
  tls_handshake: 10s
`;
