/**
 * `GET /api/logs` and `GET /api/logs/stats`: the stored access log (access_log.store) with the
 * filters of `velo logs` as query parameters (`?status=5xx&backend=b2&since=10m&limit=50`).
 * `/api/logs` answers `{ requests: [...newest first], next }`; `next` is the `before` of the
 * following page (null on the last). A bad filter is a 400 naming it; no store is a 404.
 */
import { AdminHttpError, json, type AdminRoute } from '../route.js';
import { LOG_PARAMS, parseLogFilter } from '../../store/log-filter.js';
import { parseStatsKeys } from '../../store/stats.js';
import { queryParams, storeReader, validated } from './store-access.js';

const NO_STORE = 'no log store: set access_log.store in the config (see docs/observability.md)';

export const logRoutes: AdminRoute[] = [
  {
    path: '/api/logs',
    methods: {
      GET: async (ctx, req) => {
        const p = queryParams(req.query, LOG_PARAMS);
        const filter = validated(() => parseLogFilter(p, ctx.engine.wallClock()));
        const reader = await storeReader(ctx);
        if (reader === undefined) throw new AdminHttpError(404, NO_STORE);
        const page = reader.requests(filter);
        return json({ requests: page.items, next: page.next });
      },
    },
  },
  {
    path: '/api/logs/stats',
    methods: {
      GET: async (ctx, req) => {
        const { by, ...p } = queryParams(req.query, [...LOG_PARAMS.filter((k) => !['limit', 'before', 'after'].includes(k)), 'by']);
        const keys = parseStatsKeys(by);
        if (typeof keys === 'string') throw new AdminHttpError(400, keys);
        const filter = validated(() => parseLogFilter(p, ctx.engine.wallClock()));
        const reader = await storeReader(ctx);
        if (reader === undefined) throw new AdminHttpError(404, NO_STORE);
        return json({ by: keys, groups: reader.stats(filter, keys) });
      },
    },
  },
];
