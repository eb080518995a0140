/**
 * How admin routes read the log store: a read-only connection to `access_log.store.path` of the
 * running config, opened on first use and kept (reopened when a reload changes the path).
 */
import { AdminHttpError, type AdminContext } from '../route.js';
import { FilterError } from '../../store/log-filter.js';
import type { LogReader } from '../../store/log-reader.js';

let open: { path: string; reader: LogReader } | undefined;

/** The reader of the running config's store, or undefined when no store is configured. */
export async function storeReader(ctx: AdminContext): Promise<LogReader | undefined> {
  const path = ctx.engine.config.accessLog.store?.path;
  if (path === undefined) return undefined;
  if (open?.path === path) return open.reader;
  open?.reader.close();
  open = undefined;
  const { LogReader } = await import('../../store/log-reader.js');
  try {
    open = { path, reader: new LogReader(path) };
  } catch (err) {
    throw new AdminHttpError(503, `the log store ${path} cannot be read: ${(err as Error).message}`);
  }
  return open.reader;
}

/** The query's parameters as an object, or a 400 naming the first one not in `allowed` or given twice. */
export function queryParams(query: URLSearchParams | undefined, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of query ?? []) {
    if (!allowed.includes(k)) throw new AdminHttpError(400, `unknown parameter "${k}" (allowed: ${allowed.join(', ')})`);
    if (k in out) throw new AdminHttpError(400, `parameter "${k}" is given more than once`);
    out[k] = v;
  }
  return out;
}

/** Runs `parse`, turning a `FilterError` into a 400 with its reason. */
export function validated<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof FilterError) throw new AdminHttpError(400, err.message);
    throw err;
  }
}
