/** `PUT /api/pools/:pool/strategy {strategy}`: switches a pool's balancing algorithm at runtime. */
import { AdminHttpError, json, objectBody, type AdminRoute } from '../route.js';

/** Accepts canonical names and aliases (`rr`, `RoundRobin`); 400 lists the valid ones. */
export const strategyRoutes: AdminRoute[] = [
  {
    path: '/api/pools/:pool/strategy',
    body: true,
    methods: {
      PUT: (ctx, req) => {
        const poolName = req.params.pool!;
        const previous = ctx.control.pool(poolName).strategyName;
        const body = objectBody(req.body, ['strategy'], '{"strategy": "least-connections"}');
        if (typeof body.strategy !== 'string') throw new AdminHttpError(400, 'strategy must be a string, e.g. "round-robin"');
        const strategy = ctx.control.setStrategy(poolName, body.strategy, 'api');
        return json({ pool: poolName, strategy, previous });
      },
    },
  },
];
