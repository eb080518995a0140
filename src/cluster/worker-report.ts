/**
 * A worker's counters as deltas since its last report, and the control plane's side: adding
 * them up so that the snapshot (dashboard, admin API) and the Prometheus series count every
 * worker's requests exactly once, and gauges (in flight, tunnels, queues) are the sum of each
 * live worker's latest value.
 */
import type { EngineTotals } from '../engine/request-record.js';
import type { RequestSeries, VeloMetrics } from '../metrics/prometheus.js';
import type { Pool } from '../upstream/pool.js';
import type { Upstream, UpstreamCounters } from '../upstream/upstream.js';
import type { WorkerReport } from './messages.js';

type Sent = UpstreamCounters & { tunnelsTotal: number };

/** Builds a worker's reports: what changed since the previous one (a counter is never sent twice). */
export class WorkerReporter {
  private readonly sent = new WeakMap<Upstream, Sent>();
  private readonly sentInFlight = new WeakMap<Upstream, number>();
  private sentTotals = { requests: 0, success: 0, failed: 0, rejected: 0, retries: 0, rateLimited: 0 };

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
    const t = this.totals;
    const s = this.sentTotals;
    const report: WorkerReport = {
      totals: {
        requests: t.requests - s.requests,
        success: t.success - s.success,
        failed: t.failed - s.failed,
        rejected: t.rejected - s.rejected,
        retries: t.retries - s.retries,
        rateLimited: t.rateLimited - s.rateLimited,
      },
      inFlight: t.inFlight,
      tunnels: this.tunnels(),
      backends: [],
      queues: [],
      series: this.series.drain(),
    };
    this.sentTotals = { requests: t.requests, success: t.success, failed: t.failed, rejected: t.rejected, retries: t.retries, rateLimited: t.rateLimited };
    for (const pool of this.pools()) {
      report.queues.push([pool.name, pool.queueDepth]);
      for (const u of pool.upstreams) {
        const c = u.counters;
        const before = this.sent.get(u) ?? { requests: 0, failures: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0, bytesOut: 0, tunnelsTotal: 0 };
        const latencies = u.latencyTap ?? [];
        u.latencyTap = [];
        report.backends.push({
          pool: pool.name,
          id: u.id,
          requests: c.requests - before.requests,
          failures: c.failures - before.failures,
          status2xx: c.status2xx - before.status2xx,
          status3xx: c.status3xx - before.status3xx,
          status4xx: c.status4xx - before.status4xx,
          status5xx: c.status5xx - before.status5xx,
          bytesOut: c.bytesOut - before.bytesOut,
          tunnelsTotal: u.tunnelsTotal - before.tunnelsTotal,
          inFlight: u.inFlight,
          tunnels: u.tunnels,
          latencies,
        });
        this.sent.set(u, { ...c, tunnelsTotal: u.tunnelsTotal });
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
    const t = this.totals;
    t.requests += report.totals.requests;
    t.success += report.totals.success;
    t.failed += report.totals.failed;
    t.rejected += report.totals.rejected;
    t.retries += report.totals.retries;
    t.rateLimited += report.totals.rateLimited;
    const gauges: Gauges = { inFlight: report.inFlight, tunnels: report.tunnels, backends: new Map(), queues: new Map(report.queues) };
    const now = this.clock();
    for (const b of report.backends) {
      gauges.backends.set(`${b.pool}\u0001${b.id}`, { inFlight: b.inFlight, tunnels: b.tunnels });
      const u = this.pools().find((p) => p.name === b.pool)?.upstreams.find((x) => x.id === b.id);
      if (u === undefined) continue;
      const c = u.counters;
      c.requests += b.requests;
      c.failures += b.failures;
      c.status2xx += b.status2xx;
      c.status3xx += b.status3xx;
      c.status4xx += b.status4xx;
      c.status5xx += b.status5xx;
      c.bytesOut += b.bytesOut;
      u.tunnelsTotal += b.tunnelsTotal;
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
