/**
 * The engine owns the pools, the listening server, the health checker and the sampler, and
 * their lifecycle. The dashboard, admin API and CLI see it through `control.ts` and the
 * snapshot; the request path is in `forward.ts`. No request and no background loop can
 * crash it: every handler catches.
 */
import http, { ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { VeloConfig } from '../config/types.js';
import { Pool, type PoolDeps } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import { Router } from './router.js';
import { ForwardRequest, type RequestTarget, type UpgradeClient } from './forward.js';
import { sendError } from './reply.js';
import { clientScheme, redirectFor, sendRedirect } from './redirects.js';
import { clientIpFromForwardedFor } from './headers.js';
import type { Tunnel } from './tunnel.js';
import { hasRequestBody, upgradeBody } from './request-body.js';
import { requestSyntaxProblem } from './request-validation.js';
import { StickySessions } from '../balancing/sticky.js';
import { countFinished, type EngineTotals, type ForwardEnv, type RequestObserver, type TerminationCause } from './request-record.js';
import { HealthChecker, networkProbe, realTimers, type Probe, type ProbeResult, type Timers } from '../health/active-check.js';
import { backendRef, EventLog } from '../metrics/event-log.js';
import { Sampler } from '../metrics/sampler.js';
import type { EngineSnapshot } from '../metrics/snapshot.js';
import { Logger } from '../log/logger.js';
import { IpFilter, IpMatcher } from '../resilience/ip-filter.js';
import { DRAIN_IDLE_GRACE_MS, Listener, closingConnections, peerAddress } from './listener.js';
import { adaptHttp2Request, isHttp2 } from './http2-request.js';
import { VERSION } from '../version.js';
import { RuntimeOverlay } from './overlay.js';
import type { DataPlane } from './data-plane.js';
import type { RateLimitRefusal } from '../resilience/rate-limit.js';
import type { SharedRateLimit } from '../resilience/shared-rate-limit.js';
import { TraceIds, type FillRandom, type RequestTrace } from './trace-context.js';

export interface EngineOptions {
  config: VeloConfig;
  logger?: Logger;
  /** Monotonic ms. */
  clock?: () => number;
  wallClock?: () => number;
  random?: () => number;
  probe?: Probe;
  timers?: Timers;
  /** Sampler tick; 0 disables the timer (tests call `sampler.tick()`). */
  sampleEveryMs?: number;
  /**
   * `worker`: a data-plane replica (cluster/worker.ts): no health checks of its own, backend
   * state mirrored from the control plane. Default: the whole engine in one process.
   */
  role?: 'standalone' | 'worker';
  /** Forward in these workers instead of this process (cluster/primary.ts); the engine is then the control plane. */
  dataPlane?: DataPlane;
  /** Random bytes for trace-ids and span-ids; default `crypto.randomFillSync`. */
  fillRandom?: FillRandom;
  /** Signing secret of sticky cookies for pools without `sticky.secret`: every worker must share one. */
  stickySecret?: Buffer;
  /** Set in a worker: passive verdicts go to the control plane instead of the local breaker (pool.ts `judge`). */
  remoteJudge?: PoolDeps['remoteJudge'];
}

export class Engine implements ForwardEnv {
  config: VeloConfig;
  pools: Pool[] = [];
  readonly router = new Router([]);
  readonly events: EventLog;
  readonly logger: Logger;
  readonly sampler: Sampler;
  readonly health: HealthChecker;
  readonly totals: EngineTotals = { requests: 0, success: 0, failed: 0, rejected: 0, retries: 0, rateLimited: 0, inFlight: 0 };
  readonly observers: RequestObserver[] = [];
  /** Ids of velo's spans and of the traces it starts (W3C Trace Context). */
  private readonly traceIds: TraceIds;
  /** Called after every active health probe (metrics). */
  readonly probeObservers: Array<(u: Upstream, result: ProbeResult) => void> = [];
  readonly clock: () => number;
  readonly wallClock: () => number;
  readonly random: () => number;
  readonly proto: 'http' | 'https';
  readonly startedAt: number;
  readonly sticky: StickySessions;
  /** Runtime changes not in the config file, and the file config they apply to (changed through `Control`). */
  readonly overlay: RuntimeOverlay;
  server: http.Server | undefined;
  /** The admin API's bound address once it listens (port 0 resolved); set by the CLI. */
  adminAddress: { host: string; port: number } | undefined;
  /** The client-facing listener (set by `start`); certificate reloads go through it. */
  listener: Listener | undefined;
  shuttingDown = false;
  /** Set when the drain is over and what is left is being cut (ForwardEnv.cutting). */
  cutting = false;
  // Both set by applyNetworkPolicy, from the constructor and on every reload.
  private ipFilter!: IpFilter;
  private trusted: IpMatcher | true | undefined;
  /** Where rate-limit decisions are made when not in this process alone (workers, Redis); undefined = local buckets. */
  sharedRateLimit: SharedRateLimit | undefined;
  /** With `cluster.redis`: this instance's link state and its peers, spread into every snapshot (src/cluster/redis). */
  clusterView: (() => Pick<EngineSnapshot, 'peers' | 'cluster'>) | undefined;
  /** Open WebSocket tunnels and their backends. */
  readonly tunnels = new Map<Tunnel, Upstream>();
  private readonly requestIdPrefix = randomBytes(4).toString('hex');
  private requestSeq = 0;
  private readonly sampleEveryMs: number;
  readonly role: 'standalone' | 'worker';
  private readonly remoteJudge: PoolDeps['remoteJudge'];
  /** Set when requests are forwarded by workers (the engine is the control plane alone). */
  dataPlane: DataPlane | undefined;
  /** The port the workers bound (port 0 resolved), when there is a data plane. */
  private dataPlanePort: number | undefined;

  constructor(options: EngineOptions) {
    this.role = options.role ?? 'standalone';
    this.remoteJudge = options.remoteJudge;
    this.dataPlane = options.dataPlane;
    this.config = options.config;
    this.overlay = new RuntimeOverlay(options.config);
    this.clock = options.clock ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.traceIds = new TraceIds(options.fillRandom);
    this.logger = options.logger ?? new Logger(options.config.logLevel);
    this.events = new EventLog(200, this.wallClock);
    this.startedAt = this.wallClock();
    this.sticky = new StickySessions(this.wallClock, options.stickySecret);
    this.proto = options.config.listen.tls ? 'https' : 'http';
    this.sampleEveryMs = options.sampleEveryMs ?? 250;
    this.applyNetworkPolicy(options.config);
    this.health = new HealthChecker({
      clock: this.clock,
      wallClock: this.wallClock,
      random: this.random,
      timers: options.timers ?? realTimers,
      probe: options.probe ?? networkProbe,
      onResult: (u, result) => {
        if (result.ok && u.isEjected()) u.unEject(this.clock());
        for (const observe of this.probeObservers) observe(u, result);
        if (this.logger.enabled('debug')) this.logger.debug('health probe', { name: u.name, url: u.url.origin, ok: result.ok, durationMs: result.durationMs, detail: result.detail });
      },
      onTransition: (u, from, to, result) => this.onHealthTransition(u, from, to, result.detail),
    });
    this.sampler = new Sampler(
      {
        version: VERSION,
        startedAt: this.startedAt,
        pools: () => this.pools,
        totals: () => this.totals,
        queueDepth: (p) => this.dataPlane?.queueDepth(p.name) ?? p.queueDepth,
        base: () => this.snapshotBase(),
        clock: this.clock,
        wallClock: this.wallClock,
      },
      (err) => this.logger.error('snapshot failed', { err }),
    );
    for (const pc of options.config.pools) this.pools.push(this.createPool(pc));
    this.router.setPools(this.pools);
  }

  get snapshot(): EngineSnapshot {
    return this.sampler.snapshot;
  }

  /** The address actually bound (port 0 resolved). */
  get address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return { host: this.config.listen.host, port: a?.port ?? this.dataPlanePort ?? this.config.listen.port };
  }

  /** Starts listening, probing and sampling; resolves once the port is bound. */
  async start(): Promise<void> {
    const { listen } = this.config;
    if (this.dataPlane !== undefined) {
      this.started = true;
      this.dataPlanePort = await this.dataPlane.start();
    } else {
      // Server, certificates, PROXY protocol and client-error handling live in listener.ts.
      this.listener = new Listener(this.config, { onRequest: this.onRequest, onUpgrade: this.onUpgrade }, { logger: this.logger, events: this.events });
      const server = this.listener.server;
      this.server = server;
      await this.listener.listen();
      server.on('error', (err) => this.logger.error('server error', { err }));
      this.started = true;
    }
    for (const pool of this.pools) for (const u of pool.upstreams) this.watch(pool, u);
    if (this.sampleEveryMs > 0) this.sampler.start(this.sampleEveryMs);
    // Publish the bound port at once rather than one tick later.
    this.sampler.tick();
    this.events.add({ kind: 'lifecycle', level: 'info', message: `listening on ${this.proto}://${listen.host}:${this.address.port}${this.dataPlane !== undefined ? ` (${this.dataPlane.list().length} workers)` : ''}` });
    // A worker's start is the primary's to report, once for all of them.
    if (this.role !== 'worker') {
      const workers = this.dataPlane !== undefined ? { workers: this.dataPlane.list().length } : {};
      this.logger.info('listening', { address: `${this.proto}://${listen.host}:${this.address.port}`, pools: this.pools.length, ...workers });
    }
    for (const pool of this.role === 'worker' ? [] : this.pools) {
      if (!pool.config.sticky.enabled || pool.config.sticky.secret !== undefined) continue;
      this.logger.warn('sticky.secret is not set: cookies are signed with a random secret, so a restart rebalances every sticky client', { pool: pool.name });
    }
  }

  /** True once `start()` bound the port (here or in the workers): backends are then health-checked. */
  started = false;

  /** Requests in flight, open tunnels not counted (they may never end by themselves); over every worker when there are workers. */
  get requestsInFlight(): number {
    if (this.dataPlane !== undefined) return this.dataPlane.requestsInFlight;
    return this.totals.inFlight - this.tunnels.size;
  }

  /**
   * Ends a graceful shutdown's wait at once: what is still in flight is cut. Returns how many
   * requests that cuts. No effect before `stop()`.
   */
  forceStop(): number {
    if (!this.shuttingDown) return 0;
    this.forced = true;
    if (this.dataPlane !== undefined) return this.dataPlane.forceStop();
    return this.requestsInFlight;
  }

  private forced = false;

  /**
   * Stops accepting, lets in-flight requests finish for up to `shutdown_timeout` (or until
   * `forceStop()`), then closes whatever is left, open tunnels included. Resolves when
   * everything is closed, with how many requests were cut and whether it was forced.
   */
  async stop(): Promise<StopSummary> {
    if (this.shuttingDown) return { cut: 0, tunnelsClosed: 0, forced: false, drainMs: 0 };
    this.shuttingDown = true;
    const began = this.clock();
    this.logger[this.role === 'worker' ? 'debug' : 'info']('shutting down', { inFlight: this.totals.inFlight });
    if (this.dataPlane !== undefined) {
      const summary = await this.dataPlane.stop();
      this.cutting = summary.cut > 0;
      this.health.stop();
      this.sampler.stop();
      await Promise.all(this.pools.flatMap((p) => p.upstreams.map((u) => u.destroy())));
      this.sampler.tick();
      return { ...summary, forced: summary.forced || this.forced, drainMs: Math.round(this.clock() - began) };
    }
    const server = this.server;
    if (this.listener !== undefined) this.listener.draining = true;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    this.listener?.closeIdleFor(DRAIN_IDLE_GRACE_MS);
    const deadline = began + this.config.shutdownTimeoutMs;
    // Until nothing is in flight and every keep-alive connection was closed by its client (each
    // response says Connection: close) or sat idle for the grace.
    while ((this.requestsInFlight > 0 || (this.listener?.openConnections ?? 0) > 0) && this.clock() < deadline && !this.forced) {
      await new Promise((r) => setTimeout(r, 20));
      this.listener?.closeIdleFor(DRAIN_IDLE_GRACE_MS);
    }
    const cut = Math.max(0, this.requestsInFlight);
    const tunnelsClosed = this.tunnels.size;
    if (cut > 0) this.logger.warn(this.forced ? 'forced stop: closing in-flight requests' : 'shutdown timeout: closing in-flight requests', { inFlight: cut });
    this.cutting = true;
    server?.closeAllConnections();
    for (const tunnel of this.tunnels.keys()) tunnel.destroy();
    // Upgraded sockets are not the HTTP server's any more: wait for the tunnels' own close, so
    // their access-log lines are written before the caller closes the log.
    const tunnelsGone = this.clock() + 1000;
    while (this.tunnels.size > 0 && this.clock() < tunnelsGone) await new Promise((r) => setTimeout(r, 5));
    this.health.stop();
    this.sampler.stop();
    await Promise.all(this.pools.flatMap((p) => p.upstreams.map((u) => u.destroy())));
    await closed;
    this.sampler.tick();
    return { cut, tunnelsClosed, forced: this.forced, drainMs: Math.round(this.clock() - began) };
  }

  /** Starts health checks for a backend and wires its breaker to the event log. */
  watch(pool: Pool, u: Upstream): void {
    // A worker's breaker only mirrors the control plane's, which logs the transition once.
    if (this.role === 'worker') return;
    u.breaker.onTransition = (from, to) => {
      const level = to === 'open' ? 'warn' : 'info';
      const message = `${u.name} circuit ${from} -> ${to}`;
      this.events.add({ kind: 'circuit', level, message, pool: pool.name, ...backendRef(u) });
      this.logger[level]('circuit breaker transition', { pool: pool.name, name: u.name, url: u.url.origin, from, to });
    };
    // (A worker's backends are checked once, by the control plane: cluster/primary.ts.)
    if (this.started) this.health.watch(u, () => pool.config.healthCheck);
  }

  /** Starts or stops a pool's health checks after its config changed (enabled on or off). */
  syncHealthChecks(pool: Pool): void {
    if (this.role === 'worker') return;
    for (const u of pool.upstreams) {
      if (pool.config.healthCheck.enabled) {
        this.health.watch(u, () => pool.config.healthCheck);
      } else {
        this.health.unwatch(u);
        // Without checks there is no evidence against it: it serves (passive failures still count).
        if (u.health.state !== 'healthy') u.health.set('healthy');
      }
    }
  }

  /** Stops health checks and closes a backend's connections once its in-flight requests end. */
  retire(u: Upstream): void {
    this.health.unwatch(u);
    void u.close();
    // Requests finish on their own; WebSocket tunnels may never, so they get shutdown_timeout.
    setTimeout(() => {
      for (const [tunnel, upstream] of this.tunnels) if (upstream === u) tunnel.destroy();
    }, this.config.shutdownTimeoutMs).unref();
  }

  createPool(config: VeloConfig['pools'][number]): Pool {
    if (config.tls?.verify === false) {
      const message = `pool "${config.name}": tls.verify is false, backend certificates are not checked`;
      this.events.add({ kind: 'lifecycle', level: 'warn', message, pool: config.name });
      this.logger.warn('backend TLS certificates are not verified', { pool: config.name });
    }
    return new Pool(config, {
      clock: this.clock,
      remoteJudge: this.remoteJudge,
      tapLatency: this.role === 'worker',
      onEject: (pool, u, ms) => {
        const message = `${u.name} ejected for ${Math.round(ms / 1000)}s (outlier detection, ejection #${u.ejectionsTotal})`;
        this.events.add({ kind: 'outlier', level: 'warn', message, pool: pool.name, ...backendRef(u) });
        this.logger.warn('backend ejected', { pool: pool.name, name: u.name, url: u.url.origin, durationMs: ms, ejections: u.ejectionsTotal, multiplier: u.ejectionCount });
      },
    });
  }

  retryAfterSeconds(pool: Pool): number {
    let soonest = Infinity;
    for (const u of pool.upstreams) {
      const ms = u.breaker.retryAfterMs();
      if (ms > 0) soonest = Math.min(soonest, ms);
    }
    if (soonest === Infinity) soonest = pool.config.healthCheck.enabled ? pool.config.healthCheck.intervalMs : 1000;
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  /** Applies trust and filter settings of a new config (pools are reconciled by control.ts). */
  applyNetworkPolicy(config: VeloConfig): void {
    this.ipFilter = new IpFilter(config.ipFilter);
    this.trusted = trustMatcher(config.trustProxy);
  }

  /** False when `ip_filter` denies this peer. */
  private ipAllowed(peerIp: string): boolean {
    return !this.ipFilter.active || this.ipFilter.allows(peerIp);
  }

  /** The client IP velo believes: the peer, or X-Forwarded-For when the peer is trusted. */
  private clientIpOf(req: http.IncomingMessage, peerIp: string): string {
    const xff = req.headers['x-forwarded-for'];
    if (this.trusted === undefined || typeof xff !== 'string') return peerIp;
    return clientIpFromForwardedFor(xff, peerIp, this.isTrustedPeer);
  }

  /** True when `trust_proxy` covers this peer (its X-Forwarded-* headers are believed). */
  readonly isTrustedPeer = (peerIp: string): boolean => {
    return this.trusted === true || (this.trusted !== undefined && this.trusted.matches(peerIp));
  };

  /** ForwardEnv.trace: read from the config on each request, so a reload switches it. */
  trace(header: string | string[] | undefined): RequestTrace | undefined {
    return this.config.tracing.propagate ? this.traceIds.forRequest(header) : undefined;
  }

  /** ForwardEnv.recordClientHeaders: the `common` format writes Referer and User-Agent. */
  get recordClientHeaders(): boolean {
    return this.config.accessLog.format === 'common';
  }

  nextRequestId(req: http.IncomingMessage): string {
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && incoming.length > 0 && incoming.length <= 128 && /^[\x21-\x7e]+$/.test(incoming)) {
      return incoming;
    }
    this.requestSeq += 1;
    return `${this.requestIdPrefix}-${this.requestSeq.toString(36)}`;
  }

  /**
   * The checks every request and every upgrade pass before a backend is picked, in order:
   * ip_filter, the RFC 9112 rules Node's parser leaves to us, a path as the request target, a pool for the host and path, the pool's redirects, the pool's rate limit
   * (its first matching route's, else the pool-wide one).
   */
  admit(req: http.IncomingMessage, peerIp: string): Admission | Promise<Admission> {
    if (!this.ipAllowed(peerIp)) return { ok: false, status: 403, message: 'forbidden', termination: 'DN', clientIp: peerIp };
    const malformed = requestSyntaxProblem(req);
    if (malformed !== undefined) return { ok: false, status: 400, message: malformed, termination: 'DPE', clientIp: peerIp, headers: { connection: 'close' } };
    const target = requestTarget(req.url ?? '');
    if (target === undefined) {
      return { ok: false, status: 400, message: 'request target must be a path or an absolute http(s) URI', termination: 'NR', clientIp: peerIp };
    }
    if (isHttp2(req)) {
      // `:authority` is the request's authority (RFC 9113 section 8.3.1), forwarded as Host.
      const authority = adaptHttp2Request(req);
      if (authority !== undefined && target.authority === undefined) target.authority = authority;
    }
    const url = target.path;
    const pool = this.router.match(target.authority ?? req.headers.host, url);
    if (pool === undefined) return { ok: false, status: 404, message: 'no pool matches this host and path', termination: 'NR', clientIp: peerIp };
    const clientIp = this.clientIpOf(req, peerIp);
    const method = req.method ?? 'GET';
    if (pool.config.redirects !== undefined) {
      const scheme = clientScheme(this.proto, this.isTrustedPeer(peerIp), req.headers['x-forwarded-proto']);
      const redirect = redirectFor(pool.config.redirects, method, target.authority ?? req.headers.host, url, scheme);
      if (redirect !== undefined) return { ok: false, ...redirect, termination: redirect.location !== undefined ? '-' : 'DPE', clientIp, pool: pool.name };
    }
    // Shared buckets (the primary's, or Redis) only for requests a policy governs: the others
    // never wait.
    if (this.sharedRateLimit !== undefined && pool.rateLimiter.policyFor(method, url) !== undefined) {
      return this.sharedRateLimit.take(pool.name, method, url, clientIp).then((refusal) => this.limited(refusal, pool, clientIp, target));
    }
    return this.limited(pool.rateLimiter.take(method, url, clientIp), pool, clientIp, target);
  }

  private limited(refusal: RateLimitRefusal | undefined, pool: Pool, clientIp: string, target: RequestTarget): Admission {
    if (refusal === undefined) return { ok: true, pool, clientIp, target };
    this.totals.rateLimited += 1;
    return { ok: false, status: 429, message: 'rate limited', termination: 'RL', clientIp, pool: pool.name, headers: refusal.headers };
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // A request parsed behind one velo refused for its framing is not answered (listener.ts).
    if (closingConnections.has(req.socket)) return;
    let requestId = '-';
    try {
      requestId = this.nextRequestId(req);
      const peerIp = peerAddress(req.socket);
      const admission = this.admit(req, peerIp);
      if (admission instanceof Promise) {
        admission.then(
          (a) => this.forward(req, res, requestId, peerIp, a),
          (err: unknown) => this.failed(res, requestId, err),
        );
        return;
      }
      this.forward(req, res, requestId, peerIp, admission);
    } catch (err) {
      this.failed(res, requestId, err);
    }
  };

  private forward(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, peerIp: string, admission: Admission): void {
    try {
      if (!admission.ok) return this.answerLocally(req, res, requestId, admission);
      // The client may have left while a shared rate limit was asked.
      if (req.destroyed) return;
      if (this.shuttingDown && !isHttp2(req)) res.setHeader('connection', 'close');
      new ForwardRequest(this, req, res, admission.pool, requestId, peerIp, admission.clientIp, admission.target).start();
    } catch (err) {
      this.failed(res, requestId, err);
    }
  }

  private failed(res: http.ServerResponse, requestId: string, err: unknown): void {
    this.logger.error('request handler failed', { err, requestId });
    if (!res.headersSent && !res.destroyed) sendError(res, 500, 'internal error', requestId);
  }

  /**
   * A request with `Connection: Upgrade`. It goes through the same admission and forwarding as
   * any request, answered on its raw socket; a WebSocket handshake that the backend accepts
   * becomes a tunnel. Any other token (`h2c`...) is served as plain HTTP/1.1 without the
   * upgrade (RFC 9110 section 7.8 lets a server ignore Upgrade), then the connection closes,
   * since Node has already handed the socket over.
   */
  private readonly onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    // destroySoon, not end: the server allows half-open sockets, and a client that never closes
    // its side would otherwise keep this one (and a graceful shutdown) waiting.
    res.once('finish', () => socket.destroySoon());
    // A FIN before velo's answer (or the backend's 101) means the client left, as for any request.
    const onEarlyEnd = (): void => {
      socket.destroy();
    };
    socket.once('end', onEarlyEnd);
    let requestId = '-';
    try {
      requestId = this.nextRequestId(req);
      if (this.shuttingDown) {
        sendError(res, 503, 'shutting down', requestId);
        return;
      }
      const peerIp = peerAddress(socket);
      const admission = this.admit(req, peerIp);
      if (admission instanceof Promise) {
        admission.then(
          (a) => this.forwardUpgrade(req, res, socket, head, requestId, peerIp, a, onEarlyEnd),
          (err: unknown) => this.failed(res, requestId, err),
        );
        return;
      }
      this.forwardUpgrade(req, res, socket, head, requestId, peerIp, admission, onEarlyEnd);
    } catch (err) {
      this.logger.error('upgrade handler failed', { err, requestId });
      sendError(res, 500, 'internal error', requestId);
    }
  };

  private forwardUpgrade(req: http.IncomingMessage, res: http.ServerResponse, socket: Socket, head: Buffer, requestId: string, peerIp: string, admission: Admission, onEarlyEnd: () => void): void {
    try {
      if (!admission.ok) return this.answerLocally(req, res, requestId, admission);
      if (socket.destroyed) return;
      const { pool, clientIp, target } = admission;
      const websocket = String(req.headers.upgrade).trim().toLowerCase() === 'websocket';
      if (websocket && hasRequestBody(req)) {
        // A handshake is a GET without a body (RFC 6455 section 4.1); bytes after its head are
        // frames. Forwarding a declared body would fail on every backend and be blamed on them.
        sendError(res, 400, 'a WebSocket handshake cannot carry a body', requestId, { connection: 'close' });
        return;
      }
      const upgrade: UpgradeClient | undefined = websocket ? { socket, head, protocol: 'websocket', detach: () => socket.off('end', onEarlyEnd) } : undefined;
      const body = websocket ? undefined : upgradeBody(req, socket, head, pool.config.retry.maxBodyBytes);
      if (body === 'unsupported') {
        sendError(res, 411, 'a chunked body with an Upgrade header needs a Content-Length', requestId);
        return;
      }
      new ForwardRequest(this, req, res, pool, requestId, peerIp, clientIp, target, upgrade, body).start();
    } catch (err) {
      this.failed(res, requestId, err);
    }
  }

  private answerLocally(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, rejection: Rejection): void {
    const { status, message, termination, clientIp, headers, pool } = rejection;
    if (headers?.connection === 'close') closingConnections.add(req.socket);
    const bytesOut = rejection.location !== undefined ? sendRedirect(res, status as 301 | 308, rejection.location, requestId) : sendError(res, status, message, requestId, headers);
    countFinished(this.totals, status, termination);
    const record = {
      id: requestId,
      at: this.wallClock(),
      clientIp,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host,
      status,
      pool,
      backend: undefined,
      backendName: undefined,
      attempts: 0,
      upstreamMs: -1,
      totalMs: 0,
      bytesIn: 0,
      bytesOut,
      termination,
      traceId: this.trace(req.headers.traceparent)?.traceId,
      ...(this.recordClientHeaders ? { referer: req.headers.referer, userAgent: req.headers['user-agent'], httpVersion: req.httpVersion } : undefined),
    };
    for (const observe of this.observers) {
      try {
        observe(record);
      } catch {
        // An observer (access log, metrics) must never take the proxy down.
      }
    }
  }

  private onHealthTransition(u: Upstream, from: string, to: string, detail: string | undefined): void {
    const pool = this.pools.find((p) => p.upstreams.includes(u));
    if (to === 'healthy') {
      if (from === 'unhealthy') {
        // It failed its checks and now passes them: it has recovered, so its breaker closes too.
        u.breaker.reset();
        // Forget the latency it had while failing, so least-latency neither starves nor floods it.
        u.latency.reset();
        u.startRamp(this.clock());
      }
      u.unEject(this.clock());
    }
    const level = to === 'unhealthy' ? 'warn' : 'info';
    const message = `${u.name} ${from === 'unknown' ? 'is' : 'is now'} ${to}${detail ? ` (${detail})` : ''}`;
    this.events.add({ kind: 'health', level, message, pool: pool?.name, ...backendRef(u) });
    this.logger[level]('health transition', { pool: pool?.name, name: u.name, url: u.url.origin, from, to, detail });
  }

  private snapshotBase(): Pick<EngineSnapshot, 'listen' | 'admin' | 'events' | 'configSource' | 'shuttingDown' | 'runtimeChanges' | 'workers' | 'peers' | 'cluster'> {
    const { listen, admin } = this.config;
    const plane = this.dataPlane;
    return {
      ...(plane !== undefined ? { workers: { count: plane.list().filter((w) => w.state !== 'stopping').length, restarts: plane.restarts, list: plane.list() } } : {}),
      listen: { host: listen.host, port: this.address.port, tls: listen.tls !== undefined, ...listenHttp2(listen) },
      admin: admin.enabled ? (this.adminAddress ?? { host: admin.host, port: admin.port }) : undefined,
      events: this.events.recent(50),
      configSource: this.config.source,
      shuttingDown: this.shuttingDown,
      runtimeChanges: this.overlay.size,
      ...this.clusterView?.(),
    };
  }
}

/** How a shutdown went: requests cut (still in flight at the end), forced by a signal, time spent (ms). */
export interface StopSummary {
  cut: number;
  /** WebSocket tunnels still open when the drain ended, closed by velo (`SD` in the access log). */
  tunnelsClosed: number;
  forced: boolean;
  drainMs: number;
}

/** A request velo answers itself instead of forwarding. */
export interface Rejection {
  ok: false;
  status: number;
  message: string;
  termination: TerminationCause;
  clientIp: string;
  pool?: string;
  headers?: Record<string, string>;
  /** Set for a redirect (`redirects:`, status 301 or 308): the absolute Location. */
  location?: string;
}

/** The outcome of `Engine.admit`: the pool, trusted client IP and request-target, or why not. */
export type Admission = { ok: true; pool: Pool; clientIp: string; target: RequestTarget } | Rejection;

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;
/**
 * `host [":" port]` with a non-empty host (RFC 9110 section 4.2.1: a URI with an empty host is
 * invalid): an IP literal, or a reg-name/IPv4 of unreserved, sub-delims and %-escapes; a port
 * of at most 5 digits up to 65535. No userinfo (`@` is not allowed).
 */
const VALID_AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]?\d{1,4}))?$/;

/**
 * The request-target in origin form: `/path?q` as sent, or from the absolute form
 * `http://host:port/path?q` (RFC 9112 section 3.2.2, which a server MUST accept) its path and
 * query byte for byte plus its authority. Undefined for anything else (authority and asterisk
 * forms, other schemes, an absolute form without a host or with userinfo).
 */
export function requestTarget(url: string): RequestTarget | undefined {
  if (url.startsWith('/')) return { path: url };
  const m = ABSOLUTE_FORM.exec(url);
  if (m === null) return undefined;
  const authority = m[1]!;
  if (!VALID_AUTHORITY.test(authority)) return undefined;
  const rest = url.slice(m[0].length);
  if (rest.startsWith('#')) return undefined;
  return { path: rest.startsWith('/') ? rest : `/${rest}`, authority };
}

function trustMatcher(trust: boolean | string[]): IpMatcher | true | undefined {
  if (trust === true) return true;
  if (trust === false || trust.length === 0) return undefined;
  return new IpMatcher(trust);
}

/** The snapshot's `listen.http2`: what HTTP/2 the listener offers besides HTTP/1.1 (docs/protocols.md). */
function listenHttp2(listen: VeloConfig['listen']): { http2?: 'h2' | 'h2c' } {
  if (listen.tls !== undefined) return listen.http2 === false ? {} : { http2: 'h2' };
  return listen.h2c === true ? { http2: 'h2c' } : {};
}
