/**
 * Records and events as the store's rows. A request row is a JSON array (`REQUEST_FIELDS`
 * order); the rows cross to the writer thread as one JSON text per chunk (`RequestChunk`), and
 * SQLite stores each as it is, a JSONB value in `request_rows.fields` beside its indexed `at`
 * (schema.ts). So neither the writer thread nor SQLite takes a row apart on the way in: that
 * happens when the `requests` view is read, which is rare next to one insert per request.
 * Events are few: they stay flat arrays bound column by column.
 */
import type { RequestRecord } from '../engine/request-record.js';
import type { EngineEvent } from '../metrics/event-log.js';

/** Columns of the `requests` view after `id`: the access log's JSON fields plus `trace_id`. */
export const REQUEST_COLUMNS = [
  'at', 'request_id', 'client_ip', 'method', 'host', 'path', 'status', 'pool', 'backend', 'backend_name',
  'attempts', 'upstream_ms', 'total_ms', 'bytes_in', 'bytes_out', 'termination', 'trace_id',
] as const;

/**
 * The elements of a stored request row, in order: the view's columns, except that small
 * integers replace doubles, which JSON.stringify writes much faster and JSONB stores in fewer
 * bytes. `at_offset` is ms after the first row of the chunk the row was written with (the `at`
 * column holds the time); durations are whole µs (the view divides by 1000.0, the same double
 * as rounding the ms to 3 decimals).
 */
export const REQUEST_FIELDS = [
  'at_offset', 'request_id', 'client_ip', 'method', 'host', 'path', 'status', 'pool', 'backend', 'backend_name',
  'attempts', 'upstream_us', 'total_us', 'bytes_in', 'bytes_out', 'termination', 'trace_id',
] as const;

/** `events` columns after `id`, in insert order. */
export const EVENT_COLUMNS = ['at', 'kind', 'level', 'message', 'detail', 'pool', 'backend', 'name', 'url'] as const;

export type Row = Array<string | number | null>;

/** Request rows on their way to the writer thread: one JSON text, and the time its offsets count from. */
export interface RequestChunk {
  baseAt: number;
  json: string;
}

/** Collects the rows of one `RequestChunk` (`REQUEST_FIELDS`); `take()` hands it over and starts the next. */
export class RequestChunkBuilder {
  private rows: Row[] = [];
  private baseAt = 0;

  get length(): number {
    return this.rows.length;
  }

  add(r: RequestRecord): void {
    if (this.rows.length === 0) this.baseAt = r.at;
    this.rows.push([
      r.at - this.baseAt, r.id, r.clientIp, r.method, r.host ?? null, r.path, r.status, r.pool ?? null, r.backend ?? null, r.backendName ?? null,
      r.attempts, r.upstreamMs < 0 ? null : Math.round(r.upstreamMs * 1000), Math.round(r.totalMs * 1000), r.bytesIn, r.bytesOut, r.termination, r.traceId ?? null,
    ]);
  }

  /** The rows added since the last `take()`; null when there are none. */
  take(): RequestChunk | null {
    if (this.rows.length === 0) return null;
    const chunk = { baseAt: this.baseAt, json: JSON.stringify(this.rows) };
    this.rows = [];
    return chunk;
  }
}

/**
 * Inserts the rows of one `RequestChunk`, in order, in one statement bound to `baseAt` and the
 * chunk's JSON as UTF-8 bytes (a blob, read as text): each array element becomes one
 * `request_rows` row whose `fields` is that element as JSONB and whose `at` is `baseAt` plus its
 * first element. Binding 17 values a row from JavaScript, then having SQLite encode 17 columns,
 * cost the writer thread more than SQLite's insert itself. (Anonymous parameters:
 * better-sqlite3 takes `?1` for a named one.)
 */
export const REQUEST_INSERT_JSON = 'INSERT INTO request_rows (at, fields) SELECT ? + (value ->> 0), value FROM jsonb_each(jsonb(CAST(? AS TEXT)))';

/** The row of one event. */
export function eventRow(e: EngineEvent): Row {
  return [e.at, e.kind, e.level, e.message, e.detail ?? null, e.pool ?? null, e.backend ?? null, e.name ?? null, e.url ?? null];
}
