/** `GET /api/metrics` (JSON for scripts) and `GET /metrics` (Prometheus text exposition). */
import { json, type AdminRoute } from '../route.js';
import { lastCheckView } from '../views.js';
import { summarizeWindows } from '../../metrics/latency-window.js';
import { LATENCY_WINDOW_MS } from '../../metrics/sampler.js';

/**
 * The JSON totals satisfy `total = success + failed + rejected` (rejected: velo's own 4xx, e.g.
 * 403, 404, 429); per-backend rows carry their pool, name and url. `takenAt` dates the numbers.
 */
export const metricsRoutes: AdminRoute[] = [
  {
    path: '/api/metrics',
    methods: {
      GET: (ctx) => {
        const s = ctx.snapshot();
        const t = s.totals;
        const all = s.pools.flatMap((p) => p.backends);
        return json({
          takenAt: new Date(s.takenAt).toISOString(),
          listen: s.listen,
          uptimeMs: Math.round(s.uptimeMs),
          uptimeSeconds: Math.floor(s.uptimeMs / 1000),
          startedAt: new Date(s.startedAt).toISOString(),
          totals: {
            total: t.success + t.failed + t.rejected,
            success: t.success,
            failed: t.failed,
            rejected: t.rejected,
            retries: t.retries,
            rateLimited: t.rateLimited,
            inFlight: t.inFlight,
            rps: t.rps,
            errorRate: t.errorRate,
          },
          /** Backend response times over the last 10 s, all pools together. */
          latencyMs: (({ avg, p50, p99, count }) => ({ avg, p50, p99, samples: count }))(
            summarizeWindows(ctx.engine.pools.flatMap((p) => p.upstreams.map((u) => u.window)), LATENCY_WINDOW_MS),
          ),
          backendsHealthy: s.pools.reduce((n, p) => n + p.healthyCount, 0),
          backendsTotal: all.length,
          retries: t.retries,
          backends: s.pools.flatMap((p) =>
            p.backends.map((b) => ({
              pool: p.name,
              id: b.id,
              name: b.name,
              url: b.url,
              state: b.state,
              circuit: b.circuit,
              inFlight: b.inFlight,
              requests: b.requests,
              failures: b.failures,
              rps: b.rps,
              p50Ms: b.p50Ms,
              p99Ms: b.p99Ms,
              lastCheck: lastCheckView(b),
              lastCheckAt: b.lastCheck === undefined ? null : new Date(b.lastCheck.at).toISOString(),
              lastCheckOk: b.lastCheck?.ok ?? null,
            })),
          ),
        });
      },
    },
  },
  {
    path: '/metrics',
    methods: {
      GET: async (ctx) => ({ status: 200, text: { contentType: ctx.metrics.contentType, content: await ctx.metrics.text() } }),
    },
  },
];
