/**
 * What the forwarding path needs from the engine, and what it reports when a request ends:
 * one `RequestRecord` per request, handed to each observer (access log, metrics).
 */
import type { Logger } from '../log/logger.js';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Tunnel } from './tunnel.js';
import type { StickySessions } from '../balancing/sticky.js';

/**
 * How a request ended, in the spirit of Envoy's response flags: `-` normal, UF upstream connect
 * failure, UT upstream timeout, UC upstream connection terminated, UH no healthy upstream,
 * UO upstream overflow (queue full), DC downstream (client) disconnected, RL rate limited,
 * NR no route, DN denied by ip_filter, DPE downstream protocol error (a request that cannot
 * be forwarded as sent), SI stream idle timeout (a tunnel without traffic for `timeouts.tunnel`),
 * SD stopped by velo itself (cut when `shutdown_timeout` ran out or a forced stop, or a tunnel
 * closed by shutdown or by its backend's removal).
 */
export type TerminationCause = '-' | 'UF' | 'UT' | 'UC' | 'UH' | 'UO' | 'DC' | 'RL' | 'NR' | 'DN' | 'DPE' | 'SI' | 'SD';

export interface RequestRecord {
  id: string;
  /** Wall-clock ms when the request ended. */
  at: number;
  clientIp: string;
  method: string;
  path: string;
  host: string | undefined;
  /** Status sent to the client; 499 when the client left before any. */
  status: number;
  pool: string | undefined;
  /** Id of the backend of the last attempt: its normalized URL (the backend's `id` and `url`). */
  backend: string | undefined;
  /** Name of that backend (`name` in the API, events and process log; `backend_name` in the access log). */
  backendName: string | undefined;
  attempts: number;
  /** Time to the chosen backend's response headers; -1 when none arrived. */
  upstreamMs: number;
  totalMs: number;
  bytesIn: number;
  bytesOut: number;
  termination: TerminationCause;
  /** W3C trace-id (32 hex) of the request's traceparent; undefined when tracing is off. */
  traceId?: string;
}

export type RequestObserver = (record: RequestRecord) => void;

export interface EngineTotals {
  requests: number;
  success: number;
  failed: number;
  /** velo's own 4xx answers (403 ip_filter, 404 no route, 429 rate limited, 400 unforwardable). */
  rejected: number;
  retries: number;
  rateLimited: number;
  inFlight: number;
}

/** Endings where velo itself refused the request with a 4xx before any backend saw it. */
const REJECTIONS: ReadonlySet<TerminationCause> = new Set(['RL', 'NR', 'DN', 'DPE']);

/**
 * Counts one finished request in the totals, the same way wherever it ended, so that
 * `requests = success + failed + rejected`: failed when the client got a 5xx or a response that
 * was cut or abandoned (UC, DC); rejected when velo itself answered 4xx (400, 403, 404, 429);
 * otherwise a success, a backend's own 4xx included.
 */
export function countFinished(totals: EngineTotals, status: number, termination: TerminationCause): void {
  totals.requests += 1;
  if (status >= 500 || termination === 'UC' || termination === 'DC' || (termination === 'SD' && status !== 101)) totals.failed += 1;
  else if (REJECTIONS.has(termination) && status >= 400) totals.rejected += 1;
  else totals.success += 1;
}

export interface ForwardEnv {
  /** Debug lines on the request path are built only when `logger.enabled('debug')`. */
  logger: Logger;
  /** Monotonic ms. */
  clock: () => number;
  wallClock: () => number;
  random: () => number;
  proto: 'http' | 'https';
  totals: EngineTotals;
  observers: RequestObserver[];
  retryAfterSeconds: (pool: Pool) => number;
  isTrustedPeer: (peerIp: string) => boolean;
  /** True once a graceful shutdown began: every response then carries `Connection: close`. */
  readonly shuttingDown: boolean;
  /** True once the drain is over and what is left is being cut: those requests end as `SD`. */
  readonly cutting: boolean;
  /** Open tunnels and the backend each goes to (closed on removal and shutdown). */
  tunnels: Map<Tunnel, Upstream>;
  /** Signs and checks sticky cookies (`sticky.secret` or the per-start secret). */
  sticky: StickySessions;
}
