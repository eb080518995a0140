/**
 * HTTP/2 to backends (`protocol: h2 | h2c`) on undici 7's HTTP/2 client. What velo adds to it:
 *
 * - Streams, not connections, are the unit: one connection carries up to
 *   `H2_STREAMS_PER_CONNECTION` requests at once before undici opens another, and the pool's
 *   `max_connections` bounds requests in flight, which velo counts itself (`Upstream.inFlight`).
 *   A backend that advertises fewer concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS) makes
 *   Node queue the extra streams on the connection until one ends; the attempt's own response
 *   deadline still runs.
 * - Requests with a body multiplex too. undici 7 holds a request whose body is a stream or an
 *   async iterable, or whose method is not idempotent, until every other stream of its
 *   connection has ended (client-h2.js `busy()`), so one long response (a gRPC server stream,
 *   an SSE feed) parks every POST behind it, without a timer
 *   (https://github.com/nodejs/undici/issues/5524; fixed in undici 8, which needs Node 22:
 *   https://github.com/nodejs/undici/pull/5538). A stream that fails in HTTP/2 resets only
 *   itself, which is why undici 8 dropped the guard. Here each request says it is idempotent
 *   (the flag only feeds that guard over HTTP/2; velo's own retry rules decide what is resent)
 *   and its body is handed over as a Blob-like object whose `stream()` is the body, which
 *   undici writes chunk by chunk with back-pressure like any iterable.
 * - WebSocket upgrades are refused before any connection: velo tunnels them over HTTP/1.1
 *   sockets, and an HTTP/2 backend would need RFC 8441 extended CONNECT instead.
 */
import { errors, type Dispatcher } from 'undici';
import type { UpstreamProtocol } from '../config/types.js';

/** Streams one backend connection carries at once (undici's and Node's default peer limit). */
export const H2_STREAMS_PER_CONNECTION = 100;

/** The undici Pool options that differ by protocol. */
export interface PoolShape {
  connections: number | null;
  pipelining: number;
  allowH2?: boolean;
  maxConcurrentStreams?: number;
}

/**
 * HTTP/1.1: one request per connection at a time, at most `max_connections` connections (velo's
 * limit, so undici never queues a request silently behind slow clients). HTTP/2: streams share
 * connections; `max_connections` is enforced on requests in flight, and only as many
 * connections as those streams need are allowed (a request dispatched while its connection is
 * still being opened would otherwise open one of its own). Unlimited, requests that arrive
 * together before the first connection is up each open one, as over HTTP/1.1; later ones
 * share the first that has room.
 */
export function poolShape(protocol: UpstreamProtocol, maxConnections: number): PoolShape {
  if (protocol === 'h1') return { connections: maxConnections > 0 ? maxConnections : null, pipelining: 1 };
  return {
    connections: maxConnections > 0 ? Math.ceil(maxConnections / H2_STREAMS_PER_CONNECTION) : null,
    pipelining: H2_STREAMS_PER_CONNECTION,
    allowH2: true,
    maxConcurrentStreams: H2_STREAMS_PER_CONNECTION,
  };
}

type DispatchOptions = Dispatcher.DispatchOptions;
type LegacyHandler = Dispatcher.DispatchHandler & { onError?: (err: Error) => void };

/**
 * A body undici 7 sends on an HTTP/2 stream without holding it behind the connection's other
 * streams: Blob-like (`util.isBlobLike`: a `Blob` string tag and a `stream()` method) with an
 * unknown size, so the length comes from the request's Content-Length, if any.
 */
function multiplexedBody(body: DispatchOptions['body']): DispatchOptions['body'] {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return body;
  const source = body as AsyncIterable<Uint8Array>;
  if (typeof source[Symbol.asyncIterator] !== 'function') return body;
  return { [Symbol.toStringTag]: 'Blob', size: null, stream: () => source } as unknown as DispatchOptions['body'];
}

/** Wraps a pool's `dispatch` for HTTP/2 backends (see the module comment). */
export function http2Dispatch(dispatch: (opts: DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean, protocol: Exclude<UpstreamProtocol, 'h1'>): (opts: DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean {
  return (opts, handler) => {
    if (opts.upgrade !== null && opts.upgrade !== undefined) {
      const err = new errors.NotSupportedError(`${String(opts.upgrade)} upgrades cannot be forwarded to an HTTP/2 (${protocol}) backend`);
      queueMicrotask(() => (handler as LegacyHandler).onError?.(err));
      return true;
    }
    return dispatch({ ...opts, idempotent: true, body: multiplexedBody(opts.body) }, handler);
  };
}
