/**
 * `GET /api/pools` and `GET /api/pools/:pool`: pools, their strategy and their backends; the
 * list also says how many runtime changes are not in the config file (`runtimeChanges`).
 */
import { json, type AdminRoute } from '../route.js';
import { findPool, poolView } from '../views.js';

/** Read-only pool routes, answered from a fresh engine snapshot. */
export const poolRoutes: AdminRoute[] = [
  {
    path: '/api/pools',
    methods: {
      GET: (ctx) => {
        const s = ctx.snapshot();
        return json({ pools: s.pools.map(poolView), runtimeChanges: s.runtimeChanges });
      },
    },
  },
  {
    path: '/api/pools/:pool',
    methods: { GET: (ctx, req) => json(poolView(findPool(ctx.snapshot(), req.params.pool!))) },
  },
];
