/** `GET /api/pools` and `GET /api/pools/:pool`: pools, their strategy and their backends. */
import { json, type AdminRoute } from '../route.js';
import { findPool, poolView } from '../views.js';

/** Read-only pool routes, answered from a fresh engine snapshot. */
export const poolRoutes: AdminRoute[] = [
  {
    path: '/api/pools',
    methods: { GET: (ctx) => json({ pools: ctx.snapshot().pools.map(poolView) }) },
  },
  {
    path: '/api/pools/:pool',
    methods: { GET: (ctx, req) => json(poolView(findPool(ctx.snapshot(), req.params.pool!))) },
  },
];
