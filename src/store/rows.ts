/**
 * Records and events as the store's rows: flat arrays in the column order of the insert
 * statements. Request rows cross to the writer thread as one JSON text per chunk
 * (`RequestChunk`), which SQLite itself takes apart (`REQUEST_INSERT_JSON`): the writer thread
 * never builds a JavaScript value per row or per column.
 */
import type { RequestRecord } from '../engine/request-record.js';
import type { EngineEvent } from '../metrics/event-log.js';

/** `requests` columns after `id`, in insert order. */
export const REQUEST_COLUMNS = [
  'at', 'request_id', 'client_ip', 'method', 'host', 'path', 'status', 'pool', 'backend', 'backend_name',
  'attempts', 'upstream_ms', 'total_ms', 'bytes_in', 'bytes_out', 'termination', 'trace_id',
] as const;

/** `events` columns after `id`, in insert order. */
export const EVENT_COLUMNS = ['at', 'kind', 'level', 'message', 'detail', 'pool', 'backend', 'name', 'url'] as const;

export type Row = Array<string | number | null>;

/**
 * Request rows on their way to the writer thread: one JSON text of row arrays, which SQLite
 * takes apart itself (`REQUEST_INSERT_JSON`). Times are ms after `baseAt` (the first row's `at`)
 * and durations whole µs, because JSON.stringify writes a small integer much faster than a
 * 13-digit or fractional double; the insert turns them back into the columns' values.
 */
export interface RequestChunk {
  baseAt: number;
  json: string;
}

/** Collects the rows of one `RequestChunk`; `take()` hands it over and starts the next. */
export class RequestChunkBuilder {
  private rows: Row[] = [];
  private baseAt = 0;

  get length(): number {
    return this.rows.length;
  }

  /** Adds the row of one request: the access log's JSON line (formatAccessLine) plus `trace_id`. */
  add(r: RequestRecord): void {
    if (this.rows.length === 0) this.baseAt = r.at;
    this.rows.push([
      r.at - this.baseAt, r.id, r.clientIp, r.method, r.host ?? null, r.path, r.status, r.pool ?? null, r.backend ?? null, r.backendName ?? null,
      r.attempts, r.upstreamMs < 0 ? null : Math.round(r.upstreamMs * 1000), Math.round(r.totalMs * 1000), r.bytesIn, r.bytesOut, r.termination, r.traceId ?? null,
    ]);
  }

  /** The rows added since the last `take()`, or null when there are none. */
  take(): RequestChunk | null {
    if (this.rows.length === 0) return null;
    const chunk = { baseAt: this.baseAt, json: JSON.stringify(this.rows) };
    this.rows = [];
    return chunk;
  }
}

/**
 * Inserts the rows of one `RequestChunk` in order, in one statement, bound to (`baseAt`, `json`)
 * (anonymous parameters in that order: better-sqlite3 takes `?1` for a named one):
 * SQLite parses the JSON (`jsonb` once, then a walk per column) where the writer thread used to
 * bind 17 values a row, which cost more than the insert itself. JSON numbers come back as
 * INTEGER or REAL, strings as TEXT, `null` as NULL; `total_ms` is µs / 1000.0, the same double
 * as rounding the ms to 3 decimals in JavaScript.
 */
export const REQUEST_INSERT_JSON = `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) SELECT ${REQUEST_COLUMNS.map((c, i) =>
  c === 'at' ? `? + (value ->> ${i})` : c.endsWith('_ms') ? `(value ->> ${i}) / 1000.0` : `value ->> ${i}`).join(', ')} FROM jsonb_each(jsonb(?))`;

/** The row of one event. */
export function eventRow(e: EngineEvent): Row {
  return [e.at, e.kind, e.level, e.message, e.detail ?? null, e.pool ?? null, e.backend ?? null, e.name ?? null, e.url ?? null];
}
