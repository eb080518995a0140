/**
 * Reading the log store: the pages of requests and events and the per-group statistics that
 * `velo logs`, `velo events` and the admin API show. A read-only connection of its own (WAL
 * lets it read while velo's writers write), so it works with velo running or stopped.
 */
import Database from 'better-sqlite3';
import { eventsWhere, logsWhere, type EventFilter, type LogFilter } from './log-filter.js';
import { SCHEMA_VERSION } from './schema.js';
import { REQUEST_COLUMNS } from './rows.js';
import { groupStats, type GroupStats, type StatsKey } from './stats.js';

/** One stored request, with the access log's JSON keys plus `trace_id` and the store's `id`. */
export interface StoredRequest {
  id: number;
  time: string;
  request_id: string;
  client_ip: string;
  method: string;
  host: string | null;
  path: string;
  status: number;
  pool: string | null;
  backend: string | null;
  backend_name: string | null;
  attempts: number;
  upstream_ms: number | null;
  total_ms: number;
  bytes_in: number;
  bytes_out: number;
  termination: string;
  trace_id: string | null;
}

/** One stored event, with the keys of `GET /api/events` plus `history: true`. */
export interface StoredEvent {
  id: number;
  at: string;
  kind: string;
  level: string;
  message: string;
  detail: string | null;
  pool: string | null;
  backend: string | null;
  name: string | null;
  url: string | null;
}

/** A page, newest first; `next` is the `before` of the following page (null on the last). */
export interface Page<T> {
  items: T[];
  next: number | null;
}

const REQUEST_SELECT = `SELECT id, ${REQUEST_COLUMNS.join(', ')} FROM requests`;

function requestView(row: Record<string, unknown>): StoredRequest {
  const { at, id, ...rest } = row as { at: number } & Omit<StoredRequest, 'time'>;
  return { id, time: new Date(at).toISOString(), ...rest };
}

function eventView(row: Record<string, unknown>): StoredEvent {
  return { ...(row as unknown as StoredEvent), at: new Date(row.at as number).toISOString() };
}

/** A read-only view of one store file. Throws on open when the file does not exist or is not a velo store. */
export class LogReader {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === 0 || version > SCHEMA_VERSION) {
      this.db.close();
      throw new Error(version === 0 ? `${path} is not a velo log store` : `${path} has schema version ${version}, newer than this velo's ${SCHEMA_VERSION}`);
    }
  }

  /** Requests matching `f`, newest first, at most `f.limit`; with `afterId`, oldest first (following). */
  requests(f: LogFilter): Page<StoredRequest> {
    const where = logsWhere(f);
    const order = f.afterId !== undefined ? 'ASC' : 'DESC';
    const rows = this.db.prepare(`${REQUEST_SELECT} ${where.sql} ORDER BY id ${order} LIMIT ?`).all(...where.params, f.limit + 1) as Array<Record<string, unknown>>;
    return this.page(rows.map(requestView), f.limit);
  }

  /** Events matching `f`, newest first (oldest first with `afterId`). */
  events(f: EventFilter): Page<StoredEvent> {
    const where = eventsWhere(f);
    const order = f.afterId !== undefined ? 'ASC' : 'DESC';
    const rows = this.db.prepare(`SELECT * FROM events ${where.sql} ORDER BY id ${order} LIMIT ?`).all(...where.params, f.limit + 1) as Array<Record<string, unknown>>;
    return this.page(rows.map(eventView), f.limit);
  }

  /** The last `n` events, oldest first, as engine events (for the event pane after a restart). */
  lastEvents(n: number): Array<{ at: number; kind: string; level: string; message: string; detail?: string; pool?: string; backend?: string; name?: string; url?: string }> {
    const rows = this.db.prepare('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(n) as Array<Record<string, unknown>>;
    return rows.reverse().map((r) => {
      const e: Record<string, unknown> = { at: r.at, kind: r.kind, level: r.level, message: r.message };
      for (const k of ['detail', 'pool', 'backend', 'name', 'url']) if (r[k] !== null) e[k] = r[k];
      return e as ReturnType<LogReader['lastEvents']>[number];
    });
  }

  /** Count, error rate and latency percentiles of the requests matching `f`, per group of `by`. */
  stats(f: LogFilter, by: readonly StatsKey[]): GroupStats[] {
    const where = logsWhere(f);
    const rows = this.db.prepare(`SELECT backend_name, backend, status, pool, method, path, termination, client_ip, total_ms FROM requests ${where.sql}`).iterate(...where.params);
    return groupStats(rows as Iterable<Record<string, string | number | null>>, by);
  }

  close(): void {
    this.db.close();
  }

  private page<T extends { id: number }>(items: T[], limit: number): Page<T> {
    const more = items.length > limit;
    const shown = more ? items.slice(0, limit) : items;
    return { items: shown, next: more ? shown[shown.length - 1]!.id : null };
  }
}
