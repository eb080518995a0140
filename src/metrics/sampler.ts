/**
 * Turns the engine's plain counters into one frozen `EngineSnapshot` per fixed tick: rates
 * from counter deltas, p50/p99 from each backend's latency window, recent events. The tick
 * is `unref`ed and a failing build is logged, never thrown.
 */
import type { Upstream } from '../upstream/upstream.js';
import type { Pool } from '../upstream/pool.js';
import type { BackendSnapshot, BackendState, EngineSnapshot, PoolSnapshot } from './snapshot.js';

const HISTORY = 60;
/** The window of the p50/p99 the snapshot and the JSON metrics report. */
export const LATENCY_WINDOW_MS = 10_000;

export interface SamplerSource {
  version: string;
  startedAt: number;
  pools(): readonly Pool[];
  totals(): { requests: number; success: number; failed: number; rejected: number; retries: number; rateLimited: number; inFlight: number };
  queueDepth(pool: Pool): number;
  base(): Pick<EngineSnapshot, 'listen' | 'admin' | 'events' | 'configSource' | 'shuttingDown' | 'runtimeChanges' | 'workers' | 'cluster' | 'peers'>;
  clock: () => number;
  wallClock: () => number;
}

interface Previous {
  requests: number;
  at: number;
  history: number[];
}

/** The one word for a backend's state; `maint` (HAProxy's MAINT) wins over everything else. */
export function backendState(u: Upstream): BackendState {
  if (u.maintenance) return 'maint';
  if (u.draining) return 'draining';
  if (u.health.state === 'unhealthy') return 'unhealthy';
  if (u.breaker.state === 'open' || u.isEjected()) return 'down';
  if (u.health.state === 'unknown') return 'unknown';
  return 'healthy';
}

export class Sampler {
  private readonly previous = new WeakMap<object, Previous>();
  private totalHistory: number[] = [];
  private lastTotals = { requests: 0, failed: 0, at: 0 };
  private current: EngineSnapshot;
  private listeners: Array<(s: EngineSnapshot) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: SamplerSource,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.lastTotals.at = source.clock();
    this.current = this.build();
  }

  get snapshot(): EngineSnapshot {
    return this.current;
  }

  start(tickMs = 250): void {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  subscribe(listener: (s: EngineSnapshot) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Builds and publishes a new snapshot now. */
  tick(): EngineSnapshot {
    try {
      this.current = this.build();
      for (const l of this.listeners) l(this.current);
    } catch (err) {
      this.onError(err);
    }
    return this.current;
  }

  private rate(key: object, requests: number, now: number): { rps: number; history: number[] } {
    const prev = this.previous.get(key);
    if (prev === undefined) {
      this.previous.set(key, { requests, at: now, history: [] });
      return { rps: 0, history: [] };
    }
    const seconds = (now - prev.at) / 1000;
    const rps = seconds > 0 ? Math.max(0, requests - prev.requests) / seconds : 0;
    const history = [...prev.history, Math.round(rps * 10) / 10].slice(-HISTORY);
    this.previous.set(key, { requests, at: now, history });
    return { rps, history };
  }

  private backend(u: Upstream, now: number): BackendSnapshot {
    const c = u.counters;
    const { rps, history } = this.rate(u, c.requests, now);
    const latency = u.window.summarize(LATENCY_WINDOW_MS);
    return Object.freeze({
      id: u.id,
      name: u.name,
      url: `${u.url.origin}${u.basePath}`,
      source: u.source,
      state: backendState(u),
      health: u.health.state,
      circuit: u.breaker.state,
      draining: u.draining,
      maintenance: u.maintenance,
      ejected: u.isEjected(),
      weight: u.weight,
      effectiveWeight: Math.round(u.effectiveWeight(now) * 100) / 100,
      rampPercent: u.rampPercent(now),
      inFlight: u.inFlight,
      tunnels: u.tunnels,
      maxConnections: u.maxConnections,
      requests: c.requests,
      failures: c.failures,
      status: Object.freeze({ '2xx': c.status2xx, '3xx': c.status3xx, '4xx': c.status4xx, '5xx': c.status5xx }),
      rps: Math.round(rps * 10) / 10,
      rpsHistory: Object.freeze(history),
      p50Ms: Math.round(latency.p50 * 100) / 100,
      p99Ms: Math.round(latency.p99 * 100) / 100,
      lastCheck: u.lastCheck ? Object.freeze({ ...u.lastCheck }) : undefined,
    });
  }

  private build(): EngineSnapshot {
    const src = this.source;
    const now = src.clock();
    const pools: PoolSnapshot[] = src.pools().map((p) => {
      const backends = p.upstreams.map((u) => this.backend(u, now));
      return Object.freeze({
        name: p.name,
        strategy: p.strategyName,
        match: Object.freeze({ ...p.config.match }),
        backends: Object.freeze(backends),
        healthyCount: p.upstreams.filter((u) => u.isUp()).length,
        queueDepth: src.queueDepth(p),
        rps: Math.round(backends.reduce((sum, b) => sum + b.rps, 0) * 10) / 10,
      });
    });
    const totals = src.totals();
    const seconds = (now - this.lastTotals.at) / 1000;
    const dRequests = totals.requests - this.lastTotals.requests;
    const dFailed = totals.failed - this.lastTotals.failed;
    const rps = seconds > 0 ? dRequests / seconds : 0;
    this.lastTotals = { requests: totals.requests, failed: totals.failed, at: now };
    this.totalHistory = [...this.totalHistory, Math.round(rps * 10) / 10].slice(-HISTORY);
    const wall = src.wallClock();
    return Object.freeze({
      version: src.version,
      takenAt: wall,
      startedAt: src.startedAt,
      uptimeMs: wall - src.startedAt,
      ...src.base(),
      pools: Object.freeze(pools),
      totals: Object.freeze({
        ...totals,
        rps: Math.round(rps * 10) / 10,
        errorRate: dRequests > 0 ? dFailed / dRequests : 0,
      }),
      rpsHistory: Object.freeze(this.totalHistory),
    });
  }
}
