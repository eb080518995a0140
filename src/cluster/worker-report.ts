/**
 * A worker's counters as deltas since its last report, and the control plane's side: adding
 * them up so that the snapshot (dashboard, admin API) and the Prometheus series count every
 * worker's requests exactly once, and gauges (in flight, tunnels, queues) are the sum of each
 * live worker's latest value.
 */
import type { EngineTotals } from '../engine/request-record.js';
import type { RequestSeries, VeloMetrics } from '../metrics/prometheus.js';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import { REPORTED_COUNTERS, REPORTED_TOTALS, type ReportedCounters, type ReportedTotals, type WorkerReport } from './messages.js';

/** The values of `keys` in `from`. */
function counts<K extends string>(keys: readonly K[], from: Record<K, number>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = from[k];
  return out;
}

/** `now - before` for each of `keys` (`before` absent: nothing was sent yet). */
function minus<K extends string>(keys: readonly K[], now: Record<K, number>, before: Record<K, number> | undefined): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = now[k] - (before?.[k] ?? 0);
  return out;
}

/** Builds a worker's reports: what changed since the previous one (a counter is never sent twice). */
export class WorkerReporter {
  private readonly sent = new WeakMap<Upstream, ReportedCounters>();
  private readonly sentInFlight = new WeakMap<Upstream, number>();
  private sentTotals: ReportedTotals | undefined;

  constructor(
    private readonly pools: () => readonly Pool[],
    private readonly totals: EngineTotals,
    private readonly tunnels: () => number,
    private readonly series: RequestSeries,
  ) {}

  /** What this worker last reported in flight to `u` (0 before its first report). */
  reportedInFlight(u: Upstream): number {
    return this.sentInFlight.get(u) ?? 0;
  }

  /** The deltas since the previous call, and the current gauges. */
  build(): WorkerReport {
    const totals = counts(REPORTED_TOTALS, this.totals);
    const report: WorkerReport = {
      totals: minus(REPORTED_TOTALS, totals, this.sentTotals),
      inFlight: this.totals.inFlight,
      tunnels: this.tunnels(),
      backends: [],
      queues: [],
      series: this.series.drain(),
    };
    this.sentTotals = totals;
    for (const pool of this.pools()) {
      report.queues.push([pool.name, pool.queueDepth]);
      for (const u of pool.upstreams) {
        const now = counts(REPORTED_COUNTERS, { ...u.counters, tunnelsTotal: u.tunnelsTotal });
        const latencies = u.latencyTap ?? [];
        u.latencyTap = [];
        report.backends.push({ pool: pool.name, id: u.id, ...minus(REPORTED_COUNTERS, now, this.sent.get(u)), inFlight: u.inFlight, tunnels: u.tunnels, latencies });
        this.sent.set(u, now);
        this.sentInFlight.set(u, u.inFlight);
      }
    }
    return report;
  }
}

interface Gauges {
  inFlight: number;
  tunnels: number;
  backends: Map<string, { inFlight: number; tunnels: number }>;
  queues: Map<string, number>;
}

/** The control plane's sum of its workers' reports. */
export class ReportAggregator {
  private readonly gauges = new Map<number, Gauges>();

  constructor(
    private readonly pools: () => readonly Pool[],
    private readonly totals: EngineTotals,
    private readonly metrics: () => VeloMetrics | undefined,
    private readonly clock: () => number,
  ) {}

  /** Adds worker `id`'s report: counters accumulate, its gauges replace its previous ones. */
  add(id: number, report: WorkerReport): void {
    for (const k of REPORTED_TOTALS) this.totals[k] += report.totals[k];
    const gauges: Gauges = { inFlight: report.inFlight, tunnels: report.tunnels, backends: new Map(), queues: new Map(report.queues) };
    const now = this.clock();
    for (const b of report.backends) {
      gauges.backends.set(`${b.pool}\u0001${b.id}`, { inFlight: b.inFlight, tunnels: b.tunnels });
      const u = this.pools().find((p) => p.name === b.pool)?.upstreams.find((x) => x.id === b.id);
      if (u === undefined) continue;
      const c = u.counters;
      for (const k of REPORTED_COUNTERS) {
        if (k === 'tunnelsTotal') u.tunnelsTotal += b.tunnelsTotal;
        else c[k] += b[k];
      }
      for (const ms of b.latencies) u.window.record(ms, now);
    }
    this.gauges.set(id, gauges);
    this.metrics()?.mergeRequestSeries(report.series);
    this.recompute();
  }

  /** Forgets a worker that exited: its gauges no longer count (its counters stay counted). */
  remove(id: number): void {
    this.gauges.delete(id);
    this.recompute();
  }

  /** Requests waiting for a backend slot in `pool`, over every worker. */
  queueDepth(pool: string): number {
    let n = 0;
    for (const g of this.gauges.values()) n += g.queues.get(pool) ?? 0;
    return n;
  }

  /** Tunnels open over every worker. */
  get tunnels(): number {
    let n = 0;
    for (const g of this.gauges.values()) n += g.tunnels;
    return n;
  }

  private recompute(): void {
    let inFlight = 0;
    for (const g of this.gauges.values()) inFlight += g.inFlight;
    this.totals.inFlight = inFlight;
    for (const pool of this.pools()) {
      for (const u of pool.upstreams) {
        const key = `${pool.name}\u0001${u.id}`;
        let f = 0;
        let tn = 0;
        for (const g of this.gauges.values()) {
          const b = g.backends.get(key);
          if (b !== undefined) {
            f += b.inFlight;
            tn += b.tunnels;
          }
        }
        u.inFlight = f;
        u.tunnels = tn;
      }
    }
  }
}
