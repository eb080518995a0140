/** `POST /api/reload`: re-reads the config the instance started from; a bad file changes nothing. */
import { ConfigError } from '../../errors.js';
import { AdminHttpError, json, type AdminRoute } from '../route.js';

/** Answers what changed, or 400 with every problem of the file while the old config keeps running. */
export const reloadRoutes: AdminRoute[] = [
  {
    path: '/api/reload',
    methods: {
      POST: async (ctx) => {
        try {
          const result = await ctx.control.reload('api');
          return json({ reloaded: true, ...result });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          throw new AdminHttpError(400, 'reload rejected; the running config is kept', {
            file: err.file ?? null,
            issues: err.issues.map((i) => ({ path: i.path, line: i.line ?? null, column: i.column ?? null, message: i.message, hint: i.hint ?? null })),
          });
        }
      },
    },
  },
];
