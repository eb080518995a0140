/**
 * `GET /api/health`: every pool with its backends' state, and one overall verdict; with
 * `cluster.redis` also `cluster` (this instance's Redis link) and `peers` (the other instances).
 */
import { json, type AdminRoute } from '../route.js';
import { lastCheckView } from '../views.js';
import { clusterView } from './cluster.js';

/**
 * `ok` every backend may take requests or is out of rotation on purpose (draining, maint);
 * `degraded` some are out by failure; `down` a pool has no backend that may take a request.
 */
export type HealthVerdict = 'ok' | 'degraded' | 'down';

/** Out of rotation because an operator said so, not because it failed. */
export function isPlanned(b: { state: string; draining: boolean }): boolean {
  return b.draining || b.state === 'draining' || b.state === 'maint';
}

/** Answers 200 whatever the verdict, so probing the admin API never restarts the balancer. */
export const healthRoutes: AdminRoute[] = [
  {
    path: '/api/health',
    methods: {
      GET: (ctx) => {
        const s = ctx.snapshot();
        const pools = s.pools.map((p) => ({
          name: p.name,
          strategy: p.strategy,
          healthy: p.healthyCount,
          /** Backends out of rotation on purpose (draining, maint): never a failure. */
          planned: p.backends.filter(isPlanned).length,
          total: p.backends.length,
          backends: p.backends.map((b) => ({
            id: b.id,
            name: b.name,
            url: b.url,
            state: b.state,
            circuit: b.circuit,
            weight: b.weight,
            inFlight: b.inFlight,
            lastCheck: lastCheckView(b),
          })),
        }));
        let status: HealthVerdict = 'ok';
        if (pools.some((p) => p.healthy === 0)) status = 'down';
        else if (pools.some((p) => p.healthy + p.planned < p.total)) status = 'degraded';
        // With `cluster.redis`: this instance's link and its peers (GET /api/cluster has the same).
        const cluster = s.cluster !== undefined ? clusterView(s) : {};
        return json({ status, version: s.version, uptimeMs: Math.round(s.uptimeMs), shuttingDown: s.shuttingDown, runtimeChanges: s.runtimeChanges, pools, ...cluster });
      },
    },
  },
];
