/**
 * The socket layer under each backend's undici pool. undici's own connector opens the socket;
 * this one adds what undici cannot be configured to do:
 *
 * - Half-open sockets (`allowHalfOpen`), so a WebSocket tunnel can relay one side's FIN while
 *   the other keeps sending (RFC 9293 section 3.6; undici destroys a keep-alive socket on `end`
 *   itself, so plain requests are unaffected).
 * - Unsolicited `100 Continue` interim responses are dropped before undici's parser sees them.
 *   RFC 9110 section 15.2 says a client MUST be able to parse 1xx responses it did not expect;
 *   undici 7 destroys the socket on any 100 ("bad response", client-h1.js onHeadersComplete)
 *   and the final response is lost. Other 1xx (103 Early Hints) reach the handler as usual.
 * - Which connection a request went out on: how many requests that socket had carried before
 *   and whether any byte of this request's response arrived. A request that failed on a reused
 *   connection before any response byte met a keep-alive race (the backend closed the idle
 *   connection as velo reused it) and can be sent again safely (RFC 9112 section 9.3.1).
 * - HTTP/2 (`protocol` h2 or h2c, src/upstream/h2.ts): ALPN offers `h2` and a TLS backend that
 *   does not select it fails the connect, since a pool that multiplexes must not pipeline
 *   HTTP/1.1 instead; h2c marks the socket as HTTP/2 with prior knowledge (RFC 9113 section
 *   3.3). An HTTP/2 socket carries many requests at once, so it is never instrumented: no
 *   attempt may claim it (and destroy it when cancelled), and its bytes are frames.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { UpstreamTlsOptions } from './upstream-tls.js';
import type { ConnectLookup } from '../discovery/dns-lookup.js';
import type { UpstreamProtocol } from '../config/types.js';
import { UpstreamConnectError } from '../errors.js';

/** What velo knows about one backend connection, shared with the attempt that used it. */
export interface ConnectionUse {
  /** Requests sent on this socket so far, this one included. */
  requests: number;
  /** Bytes received since this request was sent (interim responses included). */
  responseBytes: number;
  /**
   * The socket itself. Destroying it with an error fails the request running on it with that
   * error; undici's `abort()` instead destroys it with an informational error, after which undici
   * re-queues the aborted request and opens a new connection for it, for nothing.
   */
  socket: Socket;
}

/** An attempt that wants to learn which connection its request goes out on. */
export interface ConnectionClaimant {
  connection: ConnectionUse | undefined;
}

/** Every socket this connector instrumented, with its state. */
const states = new WeakMap<Socket, SocketState>();
let claimant: ConnectionClaimant | undefined;

/**
 * Binds the request undici is about to send to `who`; call it from the dispatch handler's
 * `onConnect`. undici publishes `undici:client:sendHeaders` ({request, headers, socket}) in the
 * same synchronous step, after `onConnect` and before the head is written (client-h1.js
 * writeH1), whatever the body. Nothing a client sends takes part in the binding.
 */
export function claimNextRequest(who: ConnectionClaimant): void {
  claimant = who;
  // Only that synchronous step counts: a request aborted in onConnect publishes nothing.
  queueMicrotask(() => {
    if (claimant === who) claimant = undefined;
  });
}

diagnostics.subscribe('undici:client:sendHeaders', (message) => {
  const state = states.get((message as { socket: Socket }).socket);
  const who = claimant;
  claimant = undefined;
  if (state === undefined) return;
  state.requests += 1;
  state.responseBytes = 0;
  state.atResponseStart = true;
  state.pending = undefined;
  if (who !== undefined) who.connection = state;
});

/** Longest interim-response head we hold back while waiting for its end. */
const MAX_INTERIM_HEAD_BYTES = 16 * 1024;

interface SocketState extends ConnectionUse {
  /** The next bytes read start a response (a status line). */
  atResponseStart: boolean;
  /** A possible `100 Continue` head split across reads. */
  pending: Buffer | undefined;
}

export interface ConnectorOptions {
  /** Connect timeout, ms. */
  timeoutMs: number;
  /**
   * For https backends: CA, client certificate (mTLS), SNI name and verification, passed to
   * `tls.connect`. The SNI name is this one whatever Host header the request carries: undici would
   * otherwise derive it from each request's Host (and reconnect whenever it changes).
   */
  tls?: UpstreamTlsOptions;
  /** Track requests per socket and drop unsolicited `100 Continue` (false for health probes). Default true. */
  instrument?: boolean;
  /**
   * `net.connect`'s `lookup`: resolves the backend's host name for each new connection. Set only
   * for a DNS `single`-mode backend named by host (src/discovery/dns-lookup.ts), so new
   * connections follow velo's resolver and `dns.servers`; unset, the system resolver is used
   * and nothing is added to the connection path.
   */
  lookup?: ConnectLookup;
  /** The pool's `protocol`; default h1. */
  protocol?: UpstreamProtocol;
}

/** Builds the `connect` function for an undici Pool (see the module comment for what it adds). */
export function createConnector(options: ConnectorOptions): buildConnector.connector {
  const tls = options.tls;
  const protocol = options.protocol ?? 'h1';
  const base = buildConnector({
    timeout: options.timeoutMs,
    allowHalfOpen: true,
    // undici sets ALPN itself ('http/1.1', plus 'h2' with allowH2); useH2c sets the
    // socket's alpnProtocol to 'h2' so undici speaks HTTP/2 on a plain socket.
    ...(protocol === 'h2' ? { allowH2: true } : protocol === 'h2c' ? { useH2c: true } : {}),
    ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
    ...(tls !== undefined ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized } : {}),
  } as buildConnector.BuildOptions);
  return (opts, callback) =>
    base(tls !== undefined ? { ...opts, servername: undefined } : opts, (err, socket) => {
      if (err !== null) return callback(err, null);
      const selected = (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
      if (protocol === 'h2' && selected !== 'h2') {
        socket!.destroy();
        return callback(new UpstreamConnectError(`the backend did not select h2 by ALPN (${selected === false || selected === undefined ? 'no protocol selected' : `selected ${selected}`}); protocol h2 needs an HTTP/2 TLS backend`), null);
      }
      if (protocol === 'h1' && options.instrument !== false) instrument(socket as Socket);
      callback(null, socket);
    });
}

function instrument(socket: Socket): void {
  const state: SocketState = { requests: 0, responseBytes: 0, atResponseStart: false, pending: undefined, socket };
  states.set(socket, state);
  const push = socket.push;
  socket.push = function (this: Socket, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk.length > 0) {
      state.responseBytes += chunk.length;
      if (state.atResponseStart || state.pending !== undefined) {
        const rest = dropContinue(state, chunk);
        if (rest === undefined) return true;
        chunk = rest;
      }
    }
    return push.call(this, chunk, encoding);
  };
}

const CONTINUE_11 = Buffer.from('HTTP/1.1 100');
const CONTINUE_10 = Buffer.from('HTTP/1.0 100');

/**
 * Strips leading `100 Continue` responses (status line, headers, empty line; they have no body)
 * from bytes read at the start of a response. Returns what is left to pass on, or undefined
 * when everything is held back or dropped.
 */
function dropContinue(state: SocketState, chunk: Buffer): Buffer | undefined {
  let buf = state.pending === undefined ? chunk : Buffer.concat([state.pending, chunk]);
  state.pending = undefined;
  for (;;) {
    const probe = Math.min(buf.length, CONTINUE_11.length + 1);
    const prefix11 = buf.subarray(0, Math.min(probe, CONTINUE_11.length)).equals(CONTINUE_11.subarray(0, Math.min(probe, CONTINUE_11.length)));
    const prefix10 = buf.subarray(0, Math.min(probe, CONTINUE_10.length)).equals(CONTINUE_10.subarray(0, Math.min(probe, CONTINUE_10.length)));
    if (!prefix11 && !prefix10) {
      state.atResponseStart = false;
      return buf;
    }
    if (buf.length <= CONTINUE_11.length) {
      // Too short to tell yet ("HTTP/1.1 10" could be a 100 or a 101).
      state.pending = buf;
      return undefined;
    }
    const after = buf[CONTINUE_11.length];
    if (after !== 0x20 && after !== 0x0d) {
      // HTTP/1.1 1000..: not a 100 status line; let the parser judge it.
      state.atResponseStart = false;
      return buf;
    }
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > MAX_INTERIM_HEAD_BYTES) {
        state.atResponseStart = false;
        return buf;
      }
      state.pending = buf;
      return undefined;
    }
    buf = buf.subarray(end + 4);
    if (buf.length === 0) return undefined;
  }
}
