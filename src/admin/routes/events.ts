/**
 * `GET /api/events`: the engine's recent events (health and breaker transitions, outlier
 * ejections, admin actions, reloads), oldest first, the same list the dashboard's event pane shows.
 * With a log store (access_log.store) and any query parameter (`since`, `until`, `kind`,
 * `limit`, `before`), the stored history instead: `{ events: [...newest first], next }`.
 */
import { json, type AdminRoute } from '../route.js';
import { eventView } from '../views.js';
import { EVENT_PARAMS, parseEventFilter } from '../../store/log-filter.js';
import { queryParams, storeReader, validated } from './store-access.js';

/** The read-only event route, answered from a fresh engine snapshot (or the store when filtered). */
export const eventRoutes: AdminRoute[] = [
  {
    path: '/api/events',
    methods: {
      GET: async (ctx, req) => {
        const p = queryParams(req.query, EVENT_PARAMS);
        const filter = validated(() => parseEventFilter(p, ctx.engine.wallClock()));
        const reader = Object.keys(p).length > 0 ? await storeReader(ctx) : undefined;
        if (reader === undefined) {
          // No store: the same filters over the in-memory list (the last 50 events).
          const events = ctx.snapshot().events.filter((e) => (filter.since === undefined || e.at >= filter.since) && (filter.until === undefined || e.at <= filter.until) && (filter.kinds === undefined || filter.kinds.includes(e.kind)));
          return json({ events: events.slice(-filter.limit).map(eventView) });
        }
        const page = reader.events(filter);
        return json({ events: page.items, next: page.next });
      },
    },
  },
];
