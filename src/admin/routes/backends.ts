/**
 * Backend changes: `POST /api/pools/:pool/backends {url, weight}` (201), `DELETE
 * /api/pools/:pool/backends/:id`, `POST .../:id/drain` and `/undrain`, `PUT .../:id/weight
 * {weight}`, and `POST .../:id/disable` and `/enable` (maintenance, HAProxy's `disable server`).
 * `:id` is the URL-encoded backend id, any spelling of its URL, its name, or its host:port.
 */
import { VeloError } from '../../errors.js';
import type { Upstream } from '../../upstream/upstream.js';
import { AdminHttpError, json, objectBody, type AdminContext, type AdminRoute } from '../route.js';
import { backendView, findBackend } from '../views.js';

/** The backend `ref` names in `poolName`, or an `E_NOT_FOUND` error for the pool or backend. */
export function resolveBackend(ctx: AdminContext, poolName: string, ref: string): Upstream {
  const pool = ctx.control.pool(poolName);
  const upstream = pool.find(ref) ?? pool.upstreams.find((u) => u.url.host === ref.toLowerCase());
  if (upstream === undefined) throw new VeloError('E_NOT_FOUND', `no backend "${ref}" in pool "${poolName}"`);
  return upstream;
}

function view(ctx: AdminContext, pool: string, u: Upstream) {
  return backendView(findBackend(ctx.snapshot(), pool, u.id));
}

/** A `POST .../:id/<action>` route without a body that calls one `Control` operation. */
function backendAction(action: string, run: (ctx: AdminContext, pool: string, id: string) => Upstream): AdminRoute {
  return {
    path: `/api/pools/:pool/backends/:id/${action}`,
    methods: {
      POST: (ctx, req) => {
        const poolName = req.params.pool!;
        const u = run(ctx, poolName, resolveBackend(ctx, poolName, req.params.id!).id);
        return json({ pool: poolName, backend: view(ctx, poolName, u) });
      },
    },
  };
}

/** Adding, removing, draining, weights and maintenance go through `Control`, exactly as the dashboard's do. */
export const backendRoutes: AdminRoute[] = [
  {
    path: '/api/pools/:pool/backends',
    body: true,
    methods: {
      POST: (ctx, req) => {
        const poolName = req.params.pool!;
        ctx.control.pool(poolName);
        const body = objectBody(req.body, ['url', 'weight', 'name'], '{"url": "http://127.0.0.1:8083", "weight": 1}');
        if (typeof body.url !== 'string') throw new AdminHttpError(400, 'url must be a string, e.g. "http://127.0.0.1:8083"');
        if (body.weight !== undefined && typeof body.weight !== 'number') throw new AdminHttpError(400, 'weight must be a number from 1 to 1000');
        if (body.name !== undefined && (typeof body.name !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(body.name))) {
          throw new AdminHttpError(400, 'name must be 1 to 64 printable characters without spaces');
        }
        const u = ctx.control.addBackend(poolName, { url: body.url, weight: body.weight, name: body.name }, 'api');
        const location = `/api/pools/${encodeURIComponent(poolName)}/backends/${encodeURIComponent(u.id)}`;
        return json({ pool: poolName, backend: view(ctx, poolName, u) }, 201, { location });
      },
    },
  },
  {
    path: '/api/pools/:pool/backends/:id',
    methods: {
      GET: (ctx, req) => json({ pool: req.params.pool, backend: view(ctx, req.params.pool!, resolveBackend(ctx, req.params.pool!, req.params.id!)) }),
      DELETE: (ctx, req) => {
        const poolName = req.params.pool!;
        const u = ctx.control.removeBackend(poolName, resolveBackend(ctx, poolName, req.params.id!).id, 'api');
        return json({ pool: poolName, removed: { id: u.id, name: u.name, url: `${u.url.origin}${u.basePath}`, inFlight: u.inFlight } });
      },
    },
  },
  backendAction('drain', (ctx, pool, id) => ctx.control.drain(pool, id, 'api')),
  backendAction('undrain', (ctx, pool, id) => ctx.control.undrain(pool, id, 'api')),
  backendAction('disable', (ctx, pool, id) => ctx.control.setMaintenance(pool, id, true, 'api')),
  backendAction('enable', (ctx, pool, id) => ctx.control.setMaintenance(pool, id, false, 'api')),
  {
    path: '/api/pools/:pool/backends/:id/weight',
    body: true,
    methods: {
      PUT: (ctx, req) => {
        const poolName = req.params.pool!;
        const id = resolveBackend(ctx, poolName, req.params.id!).id;
        const body = objectBody(req.body, ['weight'], '{"weight": 5}');
        if (typeof body.weight !== 'number') throw new AdminHttpError(400, 'weight must be a number from 1 to 1000, e.g. {"weight": 5}');
        const previous = ctx.control.backend(poolName, id).weight;
        const u = ctx.control.setWeight(poolName, id, body.weight, 'api');
        return json({ pool: poolName, backend: view(ctx, poolName, u), previous });
      },
    },
  },
];
