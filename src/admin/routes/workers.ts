/**
 * `GET /api/workers`: the forwarding processes (one entry, this process, without `--workers`);
 * `POST /api/workers/restart`: a rolling restart (`velo reload --workers`, SIGUSR2), answered
 * once every worker was replaced; 409 when velo runs in one process.
 */
import { AdminHttpError, json, type AdminRoute } from '../route.js';

export const workerRoutes: AdminRoute[] = [
  {
    path: '/api/workers',
    methods: {
      GET: (ctx) => {
        const plane = ctx.engine.dataPlane;
        if (plane === undefined) {
          const self = { id: 0, pid: process.pid, state: 'ready', startedAt: new Date(ctx.engine.startedAt).toISOString(), requests: ctx.engine.totals.requests, inFlight: ctx.engine.totals.inFlight };
          return json({ count: 1, restarts: 0, workers: [self] });
        }
        const list = plane.list();
        return json({
          count: list.filter((w) => w.state !== 'stopping').length,
          restarts: plane.restarts,
          workers: list.map((w) => ({ ...w, startedAt: new Date(w.startedAt).toISOString() })),
        });
      },
    },
  },
  {
    path: '/api/workers/restart',
    methods: {
      POST: async (ctx) => {
        const plane = ctx.engine.dataPlane;
        if (plane === undefined) throw new AdminHttpError(409, 'a rolling restart needs workers: start velo with --workers 2 or more (or workers: in the config)');
        const replaced = await plane.rollingRestart();
        return json({ replaced, workers: plane.list().map((w) => ({ id: w.id, pid: w.pid, state: w.state })) });
      },
    },
  },
];
