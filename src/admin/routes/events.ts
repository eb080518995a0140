/**
 * `GET /api/events`: the engine's recent events (health and breaker transitions, outlier
 * ejections, admin actions, reloads), oldest first, the same list the dashboard's event pane shows.
 */
import { json, type AdminRoute } from '../route.js';
import { eventView } from '../views.js';

/** The read-only event route, answered from a fresh engine snapshot. */
export const eventRoutes: AdminRoute[] = [
  {
    path: '/api/events',
    methods: { GET: (ctx) => json({ events: ctx.snapshot().events.map(eventView) }) },
  },
];
