/**
 * `GET /api/cluster`: this instance's place among many (`cluster.redis`): its name, whether it
 * is connected to Redis (false = serving on local state), the Redis URL with the password
 * hidden, rate-limit fallbacks and pending changes, and its peers as their last heartbeat
 * described them. Without `cluster` configured: `{"cluster": null, "peers": []}`.
 * `GET /api/health` carries the same two fields when `cluster` is configured.
 */
import type { EngineSnapshot } from '../../metrics/snapshot.js';
import { json, type AdminRoute } from '../route.js';

/** The `cluster` and `peers` fields of `/api/cluster` and `/api/health`, from one snapshot. */
export function clusterView(s: EngineSnapshot): { cluster: EngineSnapshot['cluster'] | null; peers: NonNullable<EngineSnapshot['peers']> } {
  return {
    cluster: s.cluster ?? null,
    peers: (s.peers ?? []).map((p) => ({ ...p, ageMs: Math.round(p.ageMs) })),
  };
}

/** The read-only cluster route. */
export const clusterRoutes: AdminRoute[] = [
  {
    path: '/api/cluster',
    methods: { GET: (ctx) => json(clusterView(ctx.snapshot())) },
  },
];
