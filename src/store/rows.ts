/**
 * Records and events as the store's rows: flat arrays in the column order of the insert
 * statements. Request rows cross to the writer thread as one JSON text per chunk
 * (`requestChunk`), which SQLite itself takes apart (`REQUEST_INSERT_JSON`): the writer thread
 * then never builds a JavaScript value per row or per column.
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

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The row of one request: the access log's JSON line (formatAccessLine) plus `trace_id`. */
export function requestRow(r: RequestRecord): Row {
  return [
    r.at, r.id, r.clientIp, r.method, r.host ?? null, r.path, r.status, r.pool ?? null, r.backend ?? null, r.backendName ?? null,
    r.attempts, r.upstreamMs < 0 ? null : round3(r.upstreamMs), round3(r.totalMs), r.bytesIn, r.bytesOut, r.termination, r.traceId ?? null,
  ];
}

/** Rows as the one string the writer thread inserts with `REQUEST_INSERT_JSON`. */
export function requestChunk(rows: readonly Row[]): string {
  return JSON.stringify(rows);
}

/**
 * Inserts the rows of one `requestChunk` in order, in one statement: SQLite parses the JSON
 * (`jsonb` once, then a walk per column) instead of the writer thread binding 17 values a row,
 * which cost more than the insert itself. JSON numbers come back as INTEGER or REAL, strings
 * as TEXT, `null` as NULL: the same values a bound row gives.
 */
export const REQUEST_INSERT_JSON = `INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) SELECT ${REQUEST_COLUMNS.map((_, i) => `value ->> ${i}`).join(', ')} FROM jsonb_each(jsonb(?))`;

/** The row of one event. */
export function eventRow(e: EngineEvent): Row {
  return [e.at, e.kind, e.level, e.message, e.detail ?? null, e.pool ?? null, e.backend ?? null, e.name ?? null, e.url ?? null];
}
