/**
 * One backend server: its identity, its connection pool, and everything that decides whether
 * it may take a request (`isAvailable()` folds health, draining, the circuit breaker and
 * outlier ejection into one answer). The request path only bumps the plain counters here.
 */
import { Pool as UndiciPool } from 'undici';
import type { Balanceable } from '../balancing/strategy.js';
import { PeakEwma } from '../balancing/peak-ewma.js';
import type { PoolConfig, UpstreamProtocol } from '../config/types.js';
import { Hysteresis, type HealthState } from '../health/hysteresis.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { LatencyWindow } from '../metrics/latency-window.js';
import { createConnector } from './connector.js';
import { upstreamTlsOptions, type UpstreamTlsOptions } from './upstream-tls.js';
import { http2Dispatch, poolShape } from './h2.js';
import { connectLookup, type ConnectLookup } from '../discovery/dns-lookup.js';
import { basePathOf } from '../config/backend-url.js';

export interface UpstreamCounters {
  /** Attempts that reached this backend and ended (any outcome). */
  requests: number;
  /** Attempts that failed: connect errors, timeouts, resets, and 5xx answers. */
  failures: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  bytesOut: number;
}

export interface LastCheck {
  /** Wall-clock ms. */
  at: number;
  ok: boolean;
  durationMs: number;
  detail?: string;
}

/**
 * Where a backend came from: the config file, a runtime change (dashboard, API, CLI), or a
 * discovery provider (DNS, Docker). Provider backends follow their source: removing one by hand
 * is refused, since the provider would bring it back.
 */
export type BackendSource = 'config' | 'runtime' | 'dns' | 'docker';

/** Sources whose backends a provider owns (Control.reconcileSource). */
export const PROVIDER_SOURCES: ReadonlySet<BackendSource> = new Set(['dns', 'docker']);

export interface UpstreamDeps {
  clock: () => number;
  /** A worker's: keep response times for the next report to the control plane (`latencyTap`). */
  tapLatency?: boolean;
}

export class Upstream implements Balanceable {
  readonly id: string;
  readonly url: URL;
  /** The URL's base path (`/app`, no trailing `/`; `''` for none): every path sent to this backend goes under it. */
  readonly basePath: string;
  readonly name: string;
  weight: number;
  /** Requests in flight plus open tunnels (an upgraded connection holds its slot until it closes), in this process. */
  inFlight = 0;
  /** In flight to this backend from the other workers, as of their last report (0 in one process). */
  peerInFlight = 0;
  /** Set in a worker: response times (ms) since its last report to the control plane, at most 1024. */
  latencyTap: number[] | undefined;
  /** Open WebSocket tunnels to this backend. */
  tunnels = 0;
  /** Tunnels ever opened (for `velo_websocket_sessions_total`). */
  tunnelsTotal = 0;
  draining = false;
  /**
   * Maintenance (HAProxy's MAINT): out of rotation for everyone, sticky clients and panic mode
   * included, while its health checks keep running so its state is known when it comes back.
   */
  maintenance = false;
  /** Set once removed from its pool; in-flight requests still finish. */
  removed = false;
  /** Where it came from (config file, runtime change, DNS, Docker). */
  source: BackendSource = 'config';
  readonly health: Hysteresis;
  readonly breaker: CircuitBreaker;
  readonly latency = new PeakEwma();
  readonly window: LatencyWindow;
  readonly counters: UpstreamCounters = {
    requests: 0,
    failures: 0,
    status2xx: 0,
    status3xx: 0,
    status4xx: 0,
    status5xx: 0,
    bytesOut: 0,
  };
  lastCheck: LastCheck | undefined;
  /** Ejected by outlier detection until this monotonic time (0 = not ejected). */
  ejectedUntil = 0;
  /** Outlier-ejection multiplier: grows with each ejection, decays while the backend serves well. */
  ejectionCount = 0;
  /** Ejections ever (for the monotonic `velo_outlier_ejections_total`). */
  ejectionsTotal = 0;
  /** Monotonic ms when the slow-start ramp began (0 = no ramp). */
  rampStartedAt = 0;
  slowStartMs = 0;
  /** Per-backend in-flight limit from the pool (`max_connections`); 0 = unlimited. */
  maxConnections = 0;
  /** Set by the pool: a slot was released, a queued request may proceed. */
  onSlotFree: () => void = () => {};
  /** How requests reach it: the pool's `protocol` when the backend was added (a reload applies to backends added later, as `tls` does). */
  readonly protocol: UpstreamProtocol;
  /** For https backends: the pool's TLS settings read into connect options (health probes outside undici use them). */
  readonly tls: UpstreamTlsOptions | undefined;
  /** Keep-alive connection pool to this backend (undici). */
  readonly dispatcher: UndiciPool;
  /** For https and HTTP/2 backends and DNS `single`-mode names: a small pool with the same TLS settings, protocol and lookup for health probes (else undefined). */
  readonly probeDispatcher: UndiciPool | undefined;
  /** Resolves the host for new connections (DNS `single` mode, src/discovery/dns-lookup.ts); undefined: the system resolver. */
  readonly lookup: ConnectLookup | undefined;
  private readonly clock: () => number;

  constructor(id: string, config: { url: string; weight: number; name?: string; drain?: boolean; maintenance?: boolean }, pool: PoolConfig, deps: UpstreamDeps) {
    this.id = id;
    this.url = new URL(config.url);
    this.basePath = basePathOf(this.url);
    this.name = config.name ?? `${this.url.host}${this.basePath}`;
    this.weight = config.weight;
    this.draining = config.drain === true;
    this.maintenance = config.maintenance === true;
    this.clock = deps.clock;
    if (deps.tapLatency === true) this.latencyTap = [];
    this.health = new Hysteresis(pool.healthCheck.rise, pool.healthCheck.fall);
    if (!pool.healthCheck.enabled) this.health.set('healthy');
    this.breaker = new CircuitBreaker(pool.circuitBreaker, deps.clock);
    this.window = new LatencyWindow(deps.clock);
    this.slowStartMs = pool.slowStartMs;
    this.maxConnections = pool.maxConnections;
    const tls = this.url.protocol === 'https:' ? upstreamTlsOptions(pool.tls, this.url) : undefined;
    this.tls = tls;
    this.protocol = pool.protocol;
    const protocol = pool.protocol;
    this.lookup = connectLookup(pool, this.url);
    const lookup = this.lookup;
    this.dispatcher = new UndiciPool(this.url.origin, {
      // velo's own limit rules (max_connections, then the pool's queue with its timeout): undici
      // must never queue a request silently behind connections that slow clients hold, which
      // its old fixed 256 did (a request queued in undici has no timer of its own).
      ...poolShape(protocol, pool.maxConnections),
      connect: createConnector({ timeoutMs: pool.timeouts.connectMs, tls, lookup, protocol }),
      headersTimeout: pool.timeouts.responseMs,
      bodyTimeout: pool.timeouts.idleMs,
      keepAliveTimeout: pool.timeouts.idleMs,
      keepAliveMaxTimeout: pool.timeouts.idleMs,
    });
    // A pool-level socket error must never become an unhandled 'error' event.
    this.dispatcher.on('connectionError', () => {});
    if (tls !== undefined) {
      // One constant servername per backend: undici reconnects when a request's differs from
      // the connection's, and would take it from each client's Host header (the connector
      // sends the configured name whatever this says).
      const servername = tls.servername ?? this.url.host;
      const dispatch = this.dispatcher.dispatch.bind(this.dispatcher);
      this.dispatcher.dispatch = (opts, handler) => dispatch({ ...opts, servername } as typeof opts, handler);
    }
    if (protocol !== 'h1') this.dispatcher.dispatch = http2Dispatch(this.dispatcher.dispatch.bind(this.dispatcher), protocol);
    if (tls !== undefined || lookup !== undefined || protocol !== 'h1') {
      // Health probes must reach the backend as requests do: velo's resolver, its TLS settings, its protocol.
      this.probeDispatcher = new UndiciPool(this.url.origin, {
        connections: 2,
        ...(protocol !== 'h1' ? { allowH2: true } : {}),
        connect: createConnector({ timeoutMs: pool.timeouts.connectMs, tls, instrument: false, lookup, protocol }),
      });
      this.probeDispatcher.on('connectionError', () => {});
    }
  }

  get healthState(): HealthState {
    return this.health.state;
  }

  isEjected(): boolean {
    return this.ejectedUntil > 0 && this.clock() < this.ejectedUntil;
  }

  /** In service: not in maintenance, not draining, not removed, not failing checks, not ejected, breaker not open. */
  isUp(): boolean {
    return (
      !this.maintenance &&
      !this.draining &&
      !this.removed &&
      this.health.state !== 'unhealthy' &&
      !this.isEjected() &&
      (!this.breaker.enabled || this.breaker.state !== 'open')
    );
  }

  /** Below `max_connections` (always true when unlimited). */
  hasCapacity(): boolean {
    return this.maxConnections <= 0 || this.inFlight < this.maxConnections;
  }

  /** True when this backend may take a new request now: up, with a free slot and breaker permit. */
  isAvailable(): boolean {
    return this.isUp() && this.hasCapacity() && this.breaker.allowsRequest();
  }

  /** Ends an ejection early (an active check passed). */
  unEject(now: number): void {
    if (this.ejectedUntil === 0) return;
    this.ejectedUntil = 0;
    this.startRamp(now);
  }

  /** Releases one in-flight slot and wakes a queued request, if any. */
  release(): void {
    this.inFlight -= 1;
    this.onSlotFree();
  }

  effectiveWeight(now: number): number {
    if (this.rampStartedAt === 0 || this.slowStartMs <= 0) return this.weight;
    const progress = Math.max(0, (now - this.rampStartedAt) / this.slowStartMs);
    if (progress >= 1) {
      this.rampStartedAt = 0;
      return this.weight;
    }
    // Never zero: a ramping backend must still be picked now and then to prove itself.
    return Math.max(this.weight * progress, this.weight * 0.05);
  }

  /** Ramp progress in percent (100 when no ramp is in progress). */
  rampPercent(now: number): number {
    if (this.rampStartedAt === 0 || this.slowStartMs <= 0) return 100;
    return Math.min(100, Math.max(0, Math.round(((now - this.rampStartedAt) / this.slowStartMs) * 100)));
  }

  /** Starts the slow-start ramp, if configured (a backend returning to service). */
  startRamp(now: number): void {
    if (this.slowStartMs > 0) this.rampStartedAt = now;
  }

  latencyEwmaMs(now: number): number | undefined {
    return this.latency.value(now);
  }

  /** Counts one finished attempt and its latency. `status` 0 means no response arrived. */
  recordAttempt(status: number, durationMs: number, failed: boolean): void {
    const c = this.counters;
    c.requests += 1;
    if (failed) c.failures += 1;
    if (status >= 500) c.status5xx += 1;
    else if (status >= 400) c.status4xx += 1;
    else if (status >= 300) c.status3xx += 1;
    else if (status >= 200) c.status2xx += 1;
    if (status > 0) {
      const now = this.clock();
      this.window.record(durationMs, now);
      this.latency.observe(durationMs, now);
      if (this.latencyTap !== undefined && this.latencyTap.length < 1024) this.latencyTap.push(durationMs);
    }
  }

  /** Closes the connection pool; in-flight requests are allowed to finish first. */
  async close(): Promise<void> {
    await Promise.all([this.dispatcher.close().catch(() => {}), this.probeDispatcher?.close().catch(() => {})]);
  }

  /** Closes the connection pool at once, failing anything still in flight. */
  async destroy(): Promise<void> {
    await Promise.all([this.dispatcher.destroy().catch(() => {}), this.probeDispatcher?.destroy().catch(() => {})]);
  }
}
