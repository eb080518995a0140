/**
 * velo's Prometheus metrics on a per-engine prom-client `Registry`: request counters and the
 * latency histogram are fed by `RequestRecord`s, probe results and reload events as they
 * happen; backend gauges and engine-wide counters are read from the engine at scrape time.
 * Every per-backend series carries `backend` (the backend's id, its normalized URL) and `name`
 * (its name, as in the admin API and the logs); a backend has one name, so `name` adds no series.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { RequestCounter, RequestHistogram, type CounterDelta, type HistogramDelta } from './request-series.js';
import type { Engine } from '../engine/engine.js';
import type { RequestRecord } from '../engine/request-record.js';
import type { ProbeResult } from '../health/active-check.js';
import { CIRCUIT_STATE_VALUE } from '../resilience/circuit-breaker.js';
import type { Upstream } from '../upstream/upstream.js';

/** Latency buckets in seconds, from 1 ms (a local hop) to 30 s (the slowest sane upstream). */
export const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** The labels of a per-backend series: its pool, its id (normalized URL) and its name. */
const BACKEND_LABELS = ['pool', 'backend', 'name'] as const;

/** Label value used when a request never reached a pool or a backend. */
export const NONE_LABEL = 'none';

/** Bounds the `method` label: the standard methods as sent, anything else as `other`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/** The two request-path series as a worker sends them (request-series.ts `drain()`). */
export interface RequestSeriesDelta {
  requests: CounterDelta;
  duration: HistogramDelta;
}

/**
 * The request-path series alone, for a worker: fed by its `RequestRecord`s like `VeloMetrics`,
 * drained into each report to the control plane, which exports them.
 */
export class RequestSeries {
  readonly requests = new RequestCounter(
    'velo_requests_total',
    'Requests answered, by pool, backend of the last attempt (id and name), method and status sent to the client.',
    ['pool', 'backend', 'name', 'method', 'code'],
  );
  readonly duration = new RequestHistogram(
    'velo_request_duration_seconds',
    'Time from request arrival to the end of the response, by pool and backend (id and name).',
    ['pool', 'backend', 'name'],
    DURATION_BUCKETS_SECONDS,
  );

  readonly observe = (record: RequestRecord): void => {
    const pool = record.pool ?? NONE_LABEL;
    const backend = record.backend ?? NONE_LABEL;
    const name = record.backendName ?? NONE_LABEL;
    this.requests.inc([pool, backend, name, methodLabel(record.method), String(record.status)]);
    this.duration.observe([pool, backend, name], Math.max(0, record.totalMs) / 1000);
  };

  /** The series since the last call. */
  drain(): RequestSeriesDelta {
    return { requests: this.requests.drain(), duration: this.duration.drain() };
  }
}

/** What `VeloMetrics` exports besides velo's own metrics. */
export interface MetricsOptions {
  /** Also export Node.js process metrics (`velo_process_*`, `velo_nodejs_*`); default true. */
  processMetrics?: boolean;
}

/** The engine's metrics and the hooks that feed them; `close()` detaches every hook. */
export class VeloMetrics {
  readonly registry = new Registry();
  private readonly series: RequestSeries;
  private readonly requests: RequestCounter;
  private readonly duration: RequestHistogram;
  private readonly healthChecks: Counter<'pool' | 'backend' | 'name' | 'result'>;
  private readonly reloads: Counter<'result'>;
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly engine: Engine,
    options: MetricsOptions = {},
  ) {
    const registers = [this.registry];
    this.series = new RequestSeries();
    this.requests = this.series.requests;
    this.duration = this.series.duration;
    // Registry.registerMetric only needs name, help, type and get(); see request-series.ts.
    this.registry.registerMetric(this.requests as unknown as Metric);
    this.registry.registerMetric(this.duration as unknown as Metric);
    this.healthChecks = new Counter({
      name: 'velo_health_checks_total',
      help: 'Active health probes, by result (success or failure).',
      labelNames: ['pool', 'backend', 'name', 'result'],
      registers,
    });
    this.reloads = new Counter({
      name: 'velo_config_reloads_total',
      help: 'Config reloads, by result (success or failure; a failed reload keeps the old config).',
      labelNames: ['result'],
      registers,
    });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.registerScrapeTimeMetrics();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'velo_' });
    this.attach();
  }

  /** Counts one finished request; safe on the request path (a few map lookups). */
  get observe(): (record: RequestRecord) => void {
    return this.series.observe;
  }

  /**
   * Adds the request series a worker counted since its last report (cluster/worker-report.ts),
   * so `velo_requests_total` and the latency histogram count every worker's requests exactly
   * and stay monotonic when a worker is replaced (prom-client's AggregatorRegistry would drop a
   * dead worker's counts).
   */
  mergeRequestSeries(delta: RequestSeriesDelta): void {
    for (const [labelValues, n] of delta.requests) this.requests.inc(labelValues, n);
    this.duration.merge(delta.duration);
  }

  /** The exposition text of every metric, for `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops counting: removes the request, probe and event hooks from the engine. */
  close(): void {
    for (const undo of this.detach.splice(0)) undo();
    this.registry.clear();
  }

  private attach(): void {
    const engine = this.engine;
    // With workers the request series arrive in their reports (mergeRequestSeries); the records
    // they relay for the dashboard must not be counted twice.
    if (engine.dataPlane === undefined) {
      engine.observers.push(this.observe);
      this.detach.push(() => remove(engine.observers, this.observe));
    }
    const onProbe = (u: Upstream, result: ProbeResult): void => {
      const pool = engine.pools.find((p) => p.upstreams.includes(u))?.name ?? NONE_LABEL;
      this.healthChecks.inc({ pool, backend: u.id, name: u.name, result: result.ok ? 'success' : 'failure' });
    };
    engine.probeObservers.push(onProbe);
    this.detach.push(() => remove(engine.probeObservers, onProbe));
    this.detach.push(
      engine.events.subscribe((e) => {
        if (e.kind === 'reload') this.reloads.inc({ result: e.level === 'error' ? 'failure' : 'success' });
      }),
    );
  }

  private registerScrapeTimeMetrics(): void {
    const engine = this.engine;
    const registers = [this.registry];
    const perBackend = (name: string, help: string, value: (u: Upstream) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: BACKEND_LABELS,
        registers,
        collect() {
          this.reset();
          for (const p of engine.pools) for (const u of p.upstreams) this.set({ pool: p.name, backend: u.id, name: u.name }, value(u));
        },
      });
    };
    perBackend('velo_backend_up', '1 when the backend is in service (healthy, not draining, not ejected, circuit not open), else 0.', (u) =>
      u.isUp() ? 1 : 0,
    );
    new Counter({
      name: 'velo_outlier_ejections_total',
      help: 'Times outlier detection has ejected the backend.',
      labelNames: BACKEND_LABELS,
      registers,
      collect() {
        this.reset();
        for (const p of engine.pools) for (const u of p.upstreams) this.inc({ pool: p.name, backend: u.id, name: u.name }, u.ejectionsTotal);
      },
    });
    perBackend('velo_backend_slow_start_percent', 'Slow-start ramp of the backend in percent (100 when not ramping).', (u) =>
      u.rampPercent(engine.clock()),
    );
    perBackend('velo_backend_active_connections', 'Requests in flight to the backend, open WebSocket tunnels included.', (u) => u.inFlight);
    perBackend('velo_websocket_connections', 'Open WebSocket tunnels to the backend.', (u) => u.tunnels);
    new Counter({
      name: 'velo_websocket_sessions_total',
      help: 'WebSocket tunnels ever opened to the backend (a 101 from it).',
      labelNames: BACKEND_LABELS,
      registers,
      collect() {
        this.reset();
        for (const p of engine.pools) for (const u of p.upstreams) this.inc({ pool: p.name, backend: u.id, name: u.name }, u.tunnelsTotal);
      },
    });
    perBackend('velo_circuit_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', (u) => CIRCUIT_STATE_VALUE[u.breaker.state]);
    new Gauge({
      name: 'velo_queue_depth',
      help: 'Requests waiting for a backend slot, by pool.',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const p of engine.pools) this.set({ pool: p.name }, p.queueDepth);
      },
    });
    const totalCounter = (name: string, help: string, value: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    };
    const plane = engine.dataPlane;
    if (plane !== undefined) {
      new Gauge({
        name: 'velo_workers',
        help: 'Forwarding worker processes running (--workers), by state (starting, ready, stopping).',
        labelNames: ['state'],
        registers,
        collect() {
          this.reset();
          const counts = { starting: 0, ready: 0, stopping: 0 };
          for (const w of plane.list()) counts[w.state] += 1;
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        },
      });
      totalCounter('velo_worker_restarts_total', 'Workers restarted after dying (a crash or a kill; not rolling restarts).', () => plane.restarts);
    }
    totalCounter('velo_retries_total', 'Retries of a request on another backend.', () => engine.totals.retries);
    totalCounter('velo_rate_limited_total', 'Requests answered 429 by the rate limiter.', () => engine.totals.rateLimited);
    if (engine.config.cluster !== undefined) this.registerClusterMetrics();
  }

  /**
   * With `access_log.store` only: rows the control plane's store writer dropped because it
   * could not keep up (with workers, each worker logs its own drops instead).
   */
  registerLogStore(dropped: () => number): void {
    new Counter({
      name: 'velo_log_store_dropped_total',
      help: 'Access-log records and events not stored because the log store writer fell behind (the control plane\'s writer).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(dropped());
      },
    });
  }

  /** With `cluster.redis` only: the Redis link's state and how often the local buckets stood in. */
  private registerClusterMetrics(): void {
    const engine = this.engine;
    const registers = [this.registry];
    new Gauge({
      name: 'velo_cluster_connected',
      help: '1 while this instance shares state through Redis (cluster.redis), 0 while it serves on local state.',
      registers,
      collect() {
        this.set(engine.clusterView?.().cluster?.connected === true ? 1 : 0);
      },
    });
    new Counter({
      name: 'velo_cluster_rate_limit_fallbacks_total',
      help: 'Rate-limit decisions taken from the local buckets because Redis was down, failed or slower than its bound.',
      registers,
      collect() {
        this.reset();
        this.inc(engine.clusterView?.().cluster?.rateLimitFallbacks ?? 0);
      },
    });
    new Gauge({
      name: 'velo_cluster_peers',
      help: 'Other velo instances whose heartbeat this one read in the last 3 heartbeat periods.',
      registers,
      collect() {
        this.set(engine.clusterView?.().peers?.filter((p) => p.state === 'up').length ?? 0);
      },
    });
  }
}

/** One DNS name as `/metrics` shows it (src/discovery/index.ts `DnsNameStatus`). */
export interface DnsMetricsRow {
  pool: string;
  name: string;
  failuresTotal: number;
  /** Wall-clock ms of the last good answer; undefined while the name never resolved. */
  lastSuccessAt?: number;
  answers: number;
}

/**
 * Registers the `velo_dns_*` series on `metrics` (idempotent); the DNS discovery calls it once
 * some pool uses DNS, so instances without DNS export none of them.
 */
export function registerDnsMetrics(metrics: VeloMetrics, view: () => readonly DnsMetricsRow[]): void {
  const registers = [metrics.registry];
  if (metrics.registry.getSingleMetric('velo_dns_lookup_failures_total') !== undefined) return;
  new Counter({
    name: 'velo_dns_lookup_failures_total',
    help: 'Failed DNS lookups (timeout, refused, no record) of a pool\'s name; the last good answer stays in use.',
    labelNames: ['pool', 'name'],
    registers,
    collect() {
      this.reset();
      for (const r of view()) this.inc({ pool: r.pool, name: r.name }, r.failuresTotal);
    },
  });
  new Gauge({
    name: 'velo_dns_last_success_timestamp_seconds',
    help: 'Unix time of the last good DNS answer for a pool\'s name (absent while it never resolved).',
    labelNames: ['pool', 'name'],
    registers,
    collect() {
      this.reset();
      for (const r of view()) if (r.lastSuccessAt !== undefined) this.set({ pool: r.pool, name: r.name }, r.lastSuccessAt / 1000);
    },
  });
  new Gauge({
    name: 'velo_dns_answers',
    help: 'Addresses (A and AAAA) or SRV records in the answer in use for a pool\'s name.',
    labelNames: ['pool', 'name'],
    registers,
    collect() {
      this.reset();
      for (const r of view()) this.set({ pool: r.pool, name: r.name }, r.answers);
    },
  });
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
