/**
 * The HTTP/2 side of the client listener (RFC 9113). listener.ts accepts every connection and
 * decides its protocol (ALPN `h2` on TLS, the connection preface on a plain `h2c` listener);
 * an HTTP/2 connection is handed here, becomes a node:http2 session, and each of its streams
 * enters the same request pipeline as an HTTP/1.1 request (engine.ts `onRequest`, with
 * node:http2's compatibility request and response objects). What differs lives here:
 *
 * - A session that opens no stream within the header timeout is closed (the slowloris defence
 *   HTTP/1.1 gets from `headersTimeout`); an idle one (no open stream) after the keep-alive
 *   timeout, with GOAWAY.
 * - A stream whose request body has not arrived within the request timeout gets 408 (or
 *   RST_STREAM when its response has started), as an HTTP/1.1 request does.
 * - A drain sends GOAWAY (RFC 9113 section 6.8) to every session: streams already open finish,
 *   new ones go to another connection, and the session closes when its last stream ends.
 * - At most `MAX_CONCURRENT_STREAMS` streams per session (SETTINGS_MAX_CONCURRENT_STREAMS).
 *
 * Not offered: server push, and WebSocket over HTTP/2 (RFC 8441 extended CONNECT):
 * SETTINGS_ENABLE_CONNECT_PROTOCOL is not advertised, so browsers open WebSockets on an
 * HTTP/1.1 connection, which velo tunnels as usual.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';

/** SETTINGS_MAX_CONCURRENT_STREAMS velo advertises (nginx uses 128; RFC 9113 recommends at least 100). */
export const MAX_CONCURRENT_STREAMS = 128;

/**
 * Largest header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE, bytes, names + values + 32 per
 * field as RFC 9113 section 6.5.2 counts): Node's HTTP/1.1 limit (16 KiB) plus the overhead.
 */
export const MAX_HEADER_LIST_BYTES = 16 * 1024 + 32 * 128;

export interface Http2Timeouts {
  /** A new session must open its first stream within this (ms). */
  headerTimeoutMs: number;
  /** A stream's request (headers and body) must be complete within this (ms). */
  requestTimeoutMs: number;
  /** A session with no open stream is closed after this (ms). */
  idleTimeoutMs: number;
}

export type Http2RequestHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/** The live HTTP/2 sessions of one listener. */
export class Http2Sessions {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private draining = false;

  constructor(
    onRequest: Http2RequestHandler,
    private readonly timeouts: Http2Timeouts,
  ) {
    // Never listens: a session factory for sockets listener.ts accepted (plain or TLS).
    this.server = http2.createServer({
      maxHeaderListPairs: 256,
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: MAX_HEADER_LIST_BYTES, enablePush: false },
    });
    this.server.on('session', this.onSession);
    this.server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      this.watchRequest(req, res);
      onRequest(req, res);
    });
    // A session's or stream's error is the client's: the socket goes, velo stays.
    this.server.on('sessionError', () => {});
  }

  /** Open sessions (each one TCP connection). */
  get size(): number {
    return this.sessions.size;
  }

  /** Serves `socket` (already past TLS and the PROXY header) as an HTTP/2 connection. */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  /**
   * Starts the drain: GOAWAY on every session (and on new ones); each closes once its open
   * streams have ended. Idempotent.
   */
  drain(): void {
    this.draining = true;
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  /** Destroys every session at once: streams still open are reset. */
  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
  }

  private readonly onSession = (session: http2.ServerHttp2Session): void => {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => {});
    if (this.draining) {
      session.close();
      return;
    }
    // The first stream must come within the header timeout; afterwards the idle timeout applies.
    const firstStream = setTimeout(() => session.destroy(), this.timeouts.headerTimeoutMs);
    firstStream.unref();
    session.once('close', () => clearTimeout(firstStream));
    let open = 0;
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      clearTimeout(firstStream);
      open += 1;
      stream.once('close', () => (open -= 1));
    });
    session.setTimeout(this.timeouts.idleTimeoutMs, () => {
      // Node's session timeout is inactivity; a long stream with no frames must not be cut.
      if (open === 0) session.close();
    });
  };

  /** The request timeout of one stream: its body must be complete in time. */
  private watchRequest(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    if (req.stream.endAfterHeaders) return;
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) {
        res.writeHead(408, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end('{"error":"request timeout"}\n');
      }
      req.stream.close(http2.constants.NGHTTP2_CANCEL);
    }, this.timeouts.requestTimeoutMs);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
  }
}
