/**
 * The access log's line formats: JSON (the default), logfmt with the same keys in the same
 * order, and nginx's `combined` line for tools that parse that (`access_log.format: common`).
 * Each takes one `RequestRecord` and returns one line without its newline.
 */
import type { AccessLogFormat } from '../config/types.js';
import type { RequestRecord } from '../engine/request-record.js';

/**
 * One access-log entry as written (snake_case keys, milliseconds rounded to microseconds).
 * The backend of the last attempt is `backend` (its URL, which is also its id: the same string
 * as `url` and `id` in the admin API, `url` in events and process log lines, and the `backend`
 * label of the metrics) and `backend_name` (its `name` everywhere else). Both are null when no
 * backend was tried. The prefix is there because the line's subject is the request: a bare
 * `name` or `url` would read as the request's. `trace_id` is the W3C trace-id velo sent
 * upstream (null with `tracing.propagate: false`). See docs/observability.md.
 */
export function formatAccessLine(r: RequestRecord): string {
  return JSON.stringify(accessLineFields(r));
}

/** The access line's fields, in order: the JSON line's object and the logfmt line's pairs. */
export function accessLineFields(r: RequestRecord): Record<string, string | number | null> {
  return {
    time: new Date(r.at).toISOString(),
    request_id: r.id,
    client_ip: r.clientIp,
    method: r.method,
    host: r.host ?? null,
    path: r.path,
    status: r.status,
    pool: r.pool ?? null,
    backend: r.backend ?? null,
    backend_name: r.backendName ?? null,
    attempts: r.attempts,
    upstream_ms: r.upstreamMs < 0 ? null : round3(r.upstreamMs),
    total_ms: round3(r.totalMs),
    bytes_in: r.bytesIn,
    bytes_out: r.bytesOut,
    termination: r.termination,
    trace_id: r.traceId ?? null,
  };
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * A logfmt value: bare when it is a number, `null`, or a non-empty string of printable
 * characters other than space, `=` and `"`; otherwise quoted with JSON's escapes (`\"`, `\\`,
 * `\n`, `\u0000`...). The rule of go-logfmt, which Grafana Loki's `| logfmt` parser and
 * Heroku's router logs follow.
 */
export function logfmtValue(value: string | number | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  // Space and below, DEL, `"`, `=` and `\` (a backslash in a bare value reads as an escape to some parsers).
  return value !== '' && !/[\u0000-\u0020\u007f"=\\]/.test(value) ? value : JSON.stringify(value);
}

/** `time=... request_id=... ... trace_id=...`: the JSON line's keys and values as logfmt. */
export function formatLogfmtLine(r: RequestRecord): string {
  let line = '';
  for (const [key, value] of Object.entries(accessLineFields(r))) {
    line += `${line === '' ? '' : ' '}${key}=${logfmtValue(value)}`;
  }
  return line;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * nginx's `$time_local`, `10/Oct/2000:13:55:36 -0700`: the wall-clock time `ms` in the zone
 * `offsetMinutes` east of UTC (default: the process's local zone at that moment).
 */
export function formatTimeLocal(ms: number, offsetMinutes = -new Date(ms).getTimezoneOffset()): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/**
 * A variable as nginx writes it in a log line (`escape=default`): `"`, `\`, and bytes below 32
 * or above 126 as `\xXX` (UTF-8 bytes of non-ASCII characters each escaped); `-` when empty.
 */
export function nginxEscape(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  if (!/[^\u0020-\u007e]|["\\]/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 32 || byte > 126 || byte === 0x22 || byte === 0x5c ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/**
 * nginx's `combined` line:
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
 * `$remote_addr` is the client IP velo trusts, `$remote_user` always `-` (velo does no HTTP
 * authentication), `$request` the method, the target as the client sent it and `HTTP/x.y`.
 * Referer and User-Agent are `-` unless the engine recorded them (it does for this format).
 */
export function formatCommonLine(r: RequestRecord, offsetMinutes?: number): string {
  const request = `${r.method} ${r.path} HTTP/${r.httpVersion ?? '1.1'}`;
  return `${r.clientIp || '-'} - - [${formatTimeLocal(r.at, offsetMinutes)}] "${nginxEscape(request)}" ${r.status} ${r.bytesOut} "${nginxEscape(r.referer)}" "${nginxEscape(r.userAgent)}"`;
}

/** The line formatter of `access_log.format` (default json). */
export function accessLineFormatter(format: AccessLogFormat | undefined): (r: RequestRecord) => string {
  return format === 'logfmt' ? formatLogfmtLine : format === 'common' ? (r) => formatCommonLine(r) : formatAccessLine;
}
