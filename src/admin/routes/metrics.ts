/** `GET /api/metrics` (JSON for scripts) and `GET /metrics` (Prometheus text exposition). */
import { json, type AdminRoute } from '../route.js';
import { lastCheckView } from '../views.js';

/** The JSON totals satisfy `total = success + failed`; per-backend rows carry their pool. */
export const metricsRoutes: AdminRoute[] = [
  {
    path: '/api/metrics',
    methods: {
      GET: (ctx) => {
        const s = ctx.snapshot();
        const t = s.totals;
        return json({
          uptimeMs: Math.round(s.uptimeMs),
          uptimeSeconds: Math.floor(s.uptimeMs / 1000),
          startedAt: new Date(s.startedAt).toISOString(),
          totals: {
            total: t.success + t.failed,
            success: t.success,
            failed: t.failed,
            retries: t.retries,
            rateLimited: t.rateLimited,
            inFlight: t.inFlight,
            rps: t.rps,
            errorRate: t.errorRate,
          },
          retries: t.retries,
          backends: s.pools.flatMap((p) =>
            p.backends.map((b) => ({
              pool: p.name,
              id: b.id,
              name: b.name,
              state: b.state,
              circuit: b.circuit,
              inFlight: b.inFlight,
              requests: b.requests,
              failures: b.failures,
              rps: b.rps,
              p50Ms: b.p50Ms,
              p99Ms: b.p99Ms,
              lastCheck: lastCheckView(b),
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
