/**
 * The filters of `velo logs`, `velo events` and `GET /api/logs|/api/logs/stats|/api/events`,
 * parsed once from strings (flags or query parameters) and turned into a SQL `WHERE` with
 * bound parameters only: no value a user typed is ever part of the SQL text.
 */
import { parseSpan } from '../config/parse-duration.js';
import type { EventKind } from '../metrics/event-log.js';

/** A filter that cannot be understood; `message` names the parameter and what was expected. */
export class FilterError extends Error {}

/** Requests to select. Times are wall-clock ms; `beforeId` pages backwards (newest first). */
export interface LogFilter {
  since?: number;
  until?: number;
  /** Inclusive status range: `5xx` is 500..599, `502` is 502..502. */
  status?: [number, number];
  /** A backend's name or id (URL). */
  backend?: string;
  pool?: string;
  /** `/api/*`: `*` matches any characters; exact otherwise. */
  path?: string;
  method?: string;
  /** Termination flag (`UF`, `UT`, `-`, ...). */
  flag?: string;
  /** Total time strictly above this; ms. */
  slowerMs?: number;
  client?: string;
  limit: number;
  /** Only rows with a store id below this (the `next` of the previous page). */
  beforeId?: number;
  /** Only rows with a store id above this (`--follow`). */
  afterId?: number;
}

/** Events to select. */
export interface EventFilter {
  since?: number;
  until?: number;
  kinds?: EventKind[];
  limit: number;
  beforeId?: number;
  afterId?: number;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
export const EVENT_KINDS: readonly EventKind[] = ['health', 'circuit', 'admin', 'reload', 'lifecycle', 'outlier', 'error', 'cluster'];
const FLAGS = ['-', 'UF', 'UT', 'UC', 'UH', 'UO', 'DC', 'RL', 'NR', 'DN', 'DPE', 'SI', 'SD'];

/** The parameters `parseLogFilter` reads (flag names without `--`, query keys); anything else is refused by the API. */
export const LOG_PARAMS = ['since', 'until', 'status', 'backend', 'pool', 'path', 'method', 'flag', 'slower', 'client', 'limit', 'before', 'after'] as const;
export const EVENT_PARAMS = ['since', 'until', 'kind', 'limit', 'before', 'after'] as const;

type Params = Readonly<Record<string, string | undefined>>;

/**
 * A point in time: a span back from `now` (`10m`, `1d`, `1h30m`) or an ISO 8601 date
 * (`2026-11-30T17:00:00Z`); ms since the epoch. Throws `FilterError` naming `name`.
 */
export function parseTimeBound(name: string, raw: string, now: number): number {
  const span = parseSpan(raw);
  if (span !== undefined) return now - span;
  const t = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(t)) throw new FilterError(`${name} must be a duration back from now (10m, 1h, 1d) or an ISO time (2026-11-30T17:00:00Z), got "${raw}"`);
  return t;
}

function parseStatus(raw: string): [number, number] {
  const class_ = /^([1-5])xx$/i.exec(raw);
  if (class_ !== null) return [Number(class_[1]) * 100, Number(class_[1]) * 100 + 99];
  if (/^[1-5]\d\d$/.test(raw)) return [Number(raw), Number(raw)];
  throw new FilterError(`status must be a status such as 502 or a class such as 5xx, got "${raw}"`);
}

function parseCount(name: string, raw: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new FilterError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return Number(raw);
}

function common(p: Params, now: number): Pick<LogFilter, 'since' | 'until' | 'limit' | 'beforeId' | 'afterId'> {
  const f: ReturnType<typeof common> = { limit: p.limit !== undefined ? parseCount('limit', p.limit, MAX_LIMIT) : DEFAULT_LIMIT };
  if (p.since !== undefined) f.since = parseTimeBound('since', p.since, now);
  if (p.until !== undefined) f.until = parseTimeBound('until', p.until, now);
  if (f.since !== undefined && f.until !== undefined && f.since > f.until) throw new FilterError('since must be before until');
  if (p.before !== undefined) f.beforeId = parseCount('before', p.before);
  if (p.after !== undefined) f.afterId = Number(p.after === '0' ? 0 : parseCount('after', p.after));
  return f;
}

function nonEmpty(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new FilterError(`${name} must not be empty`);
  return raw.trim();
}

/** The request filter of `params` (strings as typed); throws `FilterError` with the reason. */
export function parseLogFilter(p: Params, now: number): LogFilter {
  const f: LogFilter = common(p, now);
  if (p.status !== undefined) f.status = parseStatus(p.status.trim());
  const set = <K extends 'backend' | 'pool' | 'path' | 'client'>(k: K): void => {
    const v = nonEmpty(k, p[k]);
    if (v !== undefined) f[k] = v;
  };
  set('backend');
  set('pool');
  set('path');
  set('client');
  if (p.method !== undefined) {
    if (!/^[A-Za-z]+$/.test(p.method)) throw new FilterError(`method must be an HTTP method such as GET, got "${p.method}"`);
    f.method = p.method.toUpperCase();
  }
  if (p.flag !== undefined) {
    const flag = p.flag.toUpperCase();
    if (!FLAGS.includes(flag)) throw new FilterError(`flag must be one of ${FLAGS.join(', ')}, got "${p.flag}"`);
    f.flag = flag;
  }
  if (p.slower !== undefined) {
    const ms = parseSpan(p.slower);
    if (ms === undefined) throw new FilterError(`slower must be a duration such as 500ms or 2s, got "${p.slower}"`);
    f.slowerMs = ms;
  }
  return f;
}

/** The event filter of `params`; `kind` is one kind or a comma-separated list. */
export function parseEventFilter(p: Params, now: number): EventFilter {
  const f: EventFilter = common(p, now);
  if (p.kind !== undefined) {
    const kinds = p.kind.split(',').map((k) => k.trim());
    const bad = kinds.find((k) => !EVENT_KINDS.includes(k as EventKind));
    if (bad !== undefined) throw new FilterError(`kind must be one or more of ${EVENT_KINDS.join(', ')}, got "${bad}"`);
    f.kinds = kinds as EventKind[];
  }
  return f;
}

/** A `WHERE` clause (`''` when empty) and its bound parameters. */
export interface Where {
  sql: string;
  params: Array<string | number>;
}

/** A GLOB pattern (case-sensitive, unlike LIKE) where only `*` is special. */
function globPattern(glob: string): string {
  return glob.replace(/[[?]/g, (c) => `[${c}]`);
}

function finish(parts: string[], params: Array<string | number>): Where {
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

function timeAndPaging(f: Pick<LogFilter, 'since' | 'until' | 'beforeId' | 'afterId'>, parts: string[], params: Array<string | number>): void {
  if (f.since !== undefined) (parts.push('at >= ?'), params.push(f.since));
  if (f.until !== undefined) (parts.push('at <= ?'), params.push(f.until));
  if (f.beforeId !== undefined) (parts.push('id < ?'), params.push(f.beforeId));
  if (f.afterId !== undefined) (parts.push('id > ?'), params.push(f.afterId));
}

/** The `WHERE` of a request filter (limit and order are the caller's). */
export function logsWhere(f: LogFilter): Where {
  const parts: string[] = [];
  const params: Array<string | number> = [];
  timeAndPaging(f, parts, params);
  if (f.status !== undefined) (parts.push('status BETWEEN ? AND ?'), params.push(...f.status));
  if (f.backend !== undefined) (parts.push('(backend_name = ? OR backend = ?)'), params.push(f.backend, f.backend));
  if (f.pool !== undefined) (parts.push('pool = ?'), params.push(f.pool));
  if (f.path !== undefined) {
    if (f.path.includes('*')) (parts.push('path GLOB ?'), params.push(globPattern(f.path)));
    else (parts.push('path = ?'), params.push(f.path));
  }
  if (f.method !== undefined) (parts.push('method = ?'), params.push(f.method));
  if (f.flag !== undefined) (parts.push('termination = ?'), params.push(f.flag));
  if (f.slowerMs !== undefined) (parts.push('total_ms > ?'), params.push(f.slowerMs));
  if (f.client !== undefined) (parts.push('client_ip = ?'), params.push(f.client));
  return finish(parts, params);
}

/** The `WHERE` of an event filter. */
export function eventsWhere(f: EventFilter): Where {
  const parts: string[] = [];
  const params: Array<string | number> = [];
  timeAndPaging(f, parts, params);
  if (f.kinds !== undefined) (parts.push(`kind IN (${f.kinds.map(() => '?').join(', ')})`), params.push(...f.kinds));
  return finish(parts, params);
}
