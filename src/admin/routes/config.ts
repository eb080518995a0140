/**
 * `GET /api/config/diff`: the runtime changes not in the config file. `POST /api/config/save`:
 * writes them into the file, keeping its comments and formatting (400 without a config file,
 * 409 when the file changed since it was loaded or a change has no place in it).
 */
import { json, type AdminRoute } from '../route.js';

/** Both answer JSON; errors come from `Control` as `VeloError`s with their status. */
export const configRoutes: AdminRoute[] = [
  {
    path: '/api/config/diff',
    methods: {
      GET: (ctx) => {
        const changes = ctx.control.configDiff();
        return json({ file: ctx.engine.overlay.file.source ?? null, count: changes.length, changes });
      },
    },
  },
  {
    path: '/api/config/save',
    methods: {
      POST: async (ctx) => {
        const { file, saved, changes } = await ctx.control.saveConfig('api');
        return json({ file, saved, changes });
      },
    },
  },
];
