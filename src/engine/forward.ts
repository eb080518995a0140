/**
 * One request's path through velo, for plain HTTP and for upgrades alike: pick a backend, send
 * the request on its keep-alive pool, relay the answer (a response, or a 101 and then a tunnel),
 * and on failure try again when that is safe. The two differ only at "relay": everything else
 * (headers, retries, deadlines, accounting, the access-log record) is this one code path. Every
 * path ends in exactly one `finish()`, which releases counters and tells the observers.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import { backoffMs, isIdempotent, mayRetry, type AttemptFailure } from '../resilience/retry-policy.js';
import type { Waiter } from '../resilience/queue.js';
import { readCookie } from '../balancing/sticky.js';
import { clientResponseHeaders, earlyHints, upgradeResponseHead, upstreamRequestHeaders } from './headers.js';
import { RequestBody, hasRequestBody } from './request-body.js';
import { backendPath } from './rewrite-path.js';
import { applyHeaderRules, type HeaderVars } from './header-rules.js';
import { compressResponse, type CompressedBody } from './compression.js';
import { sendError } from './reply.js';
import { countFinished, type ForwardEnv, type TerminationCause } from './request-record.js';
import { Attempt, AttemptCancelled, AttemptTimedOut, InvalidUpstreamResponse, type AttemptOwner, type UpstreamTrailers } from './attempt.js';
import { Tunnel, type TunnelEnd } from './tunnel.js';
import { http1RawHeaders, isHttp2, writeHttp2Head } from './http2-request.js';
import { grpcDeadlineAt, upstreamProtocolHeaders } from './grpc.js';
import { relayTrailers } from './trailers.js';

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** undici errors raised while building a request, before any connection: the request's fault. */
const UNSENDABLE_REQUEST = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * Most times one request is sent again after meeting a stale keep-alive connection. Each such
 * socket is gone afterwards, and undici notices most closed sockets before reuse, so a few
 * suffice even after a backend restart left many idle connections behind.
 */
const MAX_STALE_RESENDS = 3;

/** Statuses whose responses never have a body (RFC 9110 sections 15.3.5 and 15.4.5). */
const BODYLESS_STATUS = new Set([204, 304]);

/** The client side of an upgrade request: its socket and the bytes read past its head. */
export interface UpgradeClient {
  socket: Socket;
  head: Buffer;
  /** The Upgrade token velo tunnels for (`websocket`). */
  protocol: string;
  /** Removes the handshake-time socket listeners (a FIN before the 101 means the client left). */
  detach: () => void;
}

/** Where the request goes and how it is named upstream (absolute-form resolved, RFC 9112 section 3.2.2). */
export interface RequestTarget {
  /** Origin-form path and query, byte for byte as the client sent them. */
  path: string;
  /** The authority of an absolute-form target; replaces Host upstream. */
  authority?: string;
}

export class ForwardRequest implements AttemptOwner {
  private readonly startedAt: number;
  private readonly tried = new Set<Upstream>();
  private readonly body: RequestBody | undefined;
  private readonly headers: string[];
  /** 32 hex, when tracing is on. One span of velo's per request: each retry sends the same traceparent. */
  private readonly traceId: string | undefined;
  private current: Attempt | undefined;
  private attempts = 0;
  private retries = 0;
  private staleResends = 0;
  private finished = false;
  private clientGone = false;
  private resume: (() => void) | undefined;
  private drainListening = false;
  private status = 0;
  private backend: Upstream | undefined;
  private upstreamMs = -1;
  private bytesOut = 0;
  private tunnel: Tunnel | undefined;
  private lastFailure: AttemptFailure | undefined;
  private waiter: Waiter | undefined;
  private stalled: NodeJS.Timeout | undefined;
  /** The client's request is an HTTP/2 stream: no reason phrase, no Connection header. */
  private readonly h2: boolean;
  /** The client's own deadline (gRPC `grpc-timeout`), a `clock` time; undefined when it set none. */
  private readonly deadlineAt: number | undefined;
  /** Set when the pool's `compression` applies to this response: the body goes through it. */
  private compressor: CompressedBody | undefined;

  /**
   * `res` is the client's response; for an upgrade it writes onto `upgrade.socket` (velo's own
   * answers and a backend's refusal), until a 101 hands the socket to a tunnel.
   */
  constructor(
    private readonly env: ForwardEnv,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly pool: Pool,
    private readonly requestId: string,
    private readonly peerIp: string,
    private readonly clientIp: string,
    private readonly target: RequestTarget,
    private readonly upgrade?: UpgradeClient,
    body?: RequestBody,
  ) {
    this.startedAt = env.clock();
    // An upgrade's body (if any) was read off the raw socket by the engine; req carries none.
    this.body = body ?? (upgrade === undefined && hasRequestBody(req) ? new RequestBody(req, pool.config.retry.maxBodyBytes) : undefined);
    const trace = env.trace(req.headers.traceparent);
    this.traceId = trace?.traceId;
    this.h2 = isHttp2(req);
    this.deadlineAt = grpcDeadlineAt(req.headers, this.startedAt);
    this.headers = upstreamRequestHeaders(this.h2 ? http1RawHeaders(req.rawHeaders) : req.rawHeaders, this.h2 ? undefined : req.headers.connection, {
      peerIp,
      clientIp,
      proto: env.proto,
      requestId,
      trusted: env.isTrustedPeer(peerIp),
      authority: target.authority,
      traceparent: trace?.traceparent,
      traceContinued: trace?.continued,
    });
    pool.retryBudget.active += 1;
    env.totals.inFlight += 1;
    res.once('close', this.onClientClose);
  }

  start(): void {
    this.attempt();
  }

  private readonly onClientClose = (): void => {
    // An HTTP/2 response reports writableFinished on a reset stream too; its 'close' before
    // finish() always means the stream ended without velo's complete answer.
    if (!this.h2 && this.res.writableFinished) return;
    if (this.env.cutting) return this.cutByVelo();
    this.clientGone = true;
    if (this.current !== undefined) this.current.cancel();
    else this.finish('DC');
  };

  private attempt(): void {
    if (this.finished) return;
    if (this.clientGone) return this.finish('DC');
    const upstream = this.pickUpstream();
    if (upstream === undefined) {
      if (this.attempts > 0) return this.failWith(this.lastFailure ?? 'connect');
      if (!this.pool.isSaturated()) return this.unavailable('UH', 'no backend available');
      if (this.pool.config.queue.size > 0 && this.enqueue()) return;
      return this.unavailable('UO', 'all backends at max_connections and the queue is full');
    }
    this.send(upstream);
  }

  private pickUpstream(): Upstream | undefined {
    const sticky = this.pool.config.sticky;
    const pinned = sticky.enabled && this.attempts === 0 ? this.env.sticky.pinned(this.pool.name, sticky, this.pool.upstreams, this.stickyValue()) : undefined;
    return (
      pinned ??
      this.pool.pick({
        clientIp: this.clientIp,
        url: this.target.path,
        now: this.env.clock(),
        random: this.env.random,
        exclude: this.tried,
      })
    );
  }

  /** What `request_headers` and `response_headers` templates may name, for this request and `upstream`. */
  private headerVars(upstream: Upstream | undefined): HeaderVars {
    return { clientIp: this.clientIp, requestId: this.requestId, backend: upstream?.name ?? '', host: this.target.authority ?? this.req.headers.host ?? '' };
  }

  private send(upstream: Upstream): void {
    if (this.waiter !== undefined) this.pool.queue.release(this.waiter);
    this.tried.add(upstream);
    this.attempts += 1;
    this.backend = upstream;
    if (this.env.logger.enabled('debug')) {
      this.env.logger.debug('backend selected', { requestId: this.requestId, pool: this.pool.name, strategy: this.pool.strategyName, name: upstream.name, url: upstream.url.origin, attempt: this.attempts, inFlight: upstream.inFlight });
    }
    const { timeouts, retry } = this.pool.config;
    const responseMs = retry.perTryTimeoutMs > 0 ? Math.min(retry.perTryTimeoutMs, timeouts.responseMs) : timeouts.responseMs;
    this.current = new Attempt(this, upstream, this.pool, this.env.clock, this.attempts > 1, responseMs, this.body !== undefined, this.deadlineAt);
    const headers = this.pool.config.requestHeaders === undefined ? this.headers : applyHeaderRules(this.headers, this.pool.config.requestHeaders, this.headerVars(upstream));
    upstream.dispatcher.dispatch(
      {
        path: backendPath(this.target.path, this.pool.config.rewrite, upstream.basePath),
        method: this.req.method!,
        headers: upstreamProtocolHeaders(headers, this.req.headers, upstream.protocol, this.deadlineAt, this.env.clock()),
        // undici streams async iterables (client-h1 writeIterable); its types only list Readable.
        body: (this.body?.source() ?? null) as Dispatcher.DispatchOptions['body'],
        // The attempt keeps its own response deadline (undici's timers run up to 0.5 s late).
        headersTimeout: 0,
        bodyTimeout: timeouts.idleMs,
        upgrade: this.upgrade?.protocol ?? null,
      },
      this.current,
    );
  }

  /** Waits in the pool's admission queue; a woken waiter that finds no slot goes back to the front. */
  private enqueue(): boolean {
    const requeue = this.waiter !== undefined;
    this.waiter ??= {
      wake: () => this.attempt(),
      expire: () => this.unavailable('UO', 'timed out waiting for a free backend'),
    };
    return this.pool.queue.enqueue(this.waiter, requeue);
  }

  private unavailable(termination: TerminationCause, message: string): void {
    const retryAfter = String(this.env.retryAfterSeconds(this.pool));
    this.reply(503, message, { 'retry-after': retryAfter });
    this.finish(termination);
  }

  /** A 1xx before the final response: 103 Early Hints are passed on (RFC 9110 section 15.2, RFC 8297). */
  onInterim(_attempt: Attempt, status: number, raw: Buffer[]): void {
    if (status !== 103 || this.upgrade !== undefined || this.res.headersSent || this.clientGone) return;
    const hints = earlyHints(raw);
    if (hints === undefined) return;
    try {
      this.res.writeEarlyHints(hints);
    } catch {
      // A hint Node refuses to write is dropped; the final response still goes through.
    }
  }

  /** Called by the attempt once response headers arrive; false asks undici to pause. */
  onResponseHeaders(attempt: Attempt, status: number, raw: Buffer[], statusText: string, resume: () => void): boolean {
    if (this.clientGone) {
      attempt.cancel();
      return false;
    }
    const retry = this.pool.config.retry;
    if (retry.onStatus.includes(status) && this.canRetry('status')) {
      attempt.retryOnStatus(status);
      return false;
    }
    this.status = status;
    this.upstreamMs = this.env.clock() - attempt.startedAt;
    this.resume = resume;
    const rules = this.pool.config.responseHeaders;
    let headers = rules === undefined ? clientResponseHeaders(raw, status) : applyHeaderRules(clientResponseHeaders(raw, status), rules, this.headerVars(attempt.upstream));
    if (this.env.shuttingDown && !this.h2) headers.push('connection', 'close');
    const sticky = this.pool.config.sticky;
    const cookie = sticky.enabled && this.backend !== undefined ? this.env.sticky.setCookie(this.pool.name, sticky, this.backend.id, this.stickyValue(), this.env.proto === 'https') : undefined;
    if (cookie !== undefined) headers.push('set-cookie', cookie);
    if (this.pool.config.compression !== undefined && this.upgrade === undefined) {
      ({ headers, body: this.compressor } = compressResponse(this.pool.config.compression, this.req, status, headers, this.res, resume, this.pool.config.timeouts.idleMs));
    }
    try {
      if (this.h2) writeHttp2Head(this.res, status, headers);
      // An HTTP/2 backend sends no reason phrase: give the HTTP/1.1 client the standard one.
      else this.res.writeHead(status, statusText !== '' ? statusText : (STATUS_CODES[status] ?? ''), headers);
    } catch (err) {
      // A header Node will not write (bad characters, bad status text): the backend's fault.
      attempt.cancel(new InvalidUpstreamResponse((err as Error).message));
      return false;
    }
    if (BODYLESS_STATUS.has(status)) {
      // Complete now: no body can follow. undici would fail a 304 or 204 that carries a
      // Content-Length (allowed on 304, RFC 9110 section 8.6) with a length mismatch afterwards.
      attempt.markDone();
      this.onResponseEnd(attempt);
      return true;
    }
    return true;
  }

  private stickyValue(): string | undefined {
    return readCookie(this.req.headers.cookie, this.pool.config.sticky.cookie);
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.compressor !== undefined) return this.compressor.write(chunk);
    this.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    if (!this.drainListening) {
      this.drainListening = true;
      this.res.on('drain', () => {
        clearTimeout(this.stalled);
        this.stalled = undefined;
        this.resume?.();
      });
    }
    // undici's body timer is paused while we are, so a client that stops reading would hold the
    // backend slot forever: give it `timeouts.idle` to take the data, then drop it.
    this.stalled ??= setTimeout(() => this.res.destroy(), this.pool.config.timeouts.idleMs);
    return false;
  }

  onResponseEnd(attempt: Attempt, trailers?: UpstreamTrailers): void {
    attempt.settle(this.status, 'ok');
    this.current = undefined;
    relayTrailers(this.res, this.req, trailers);
    if (this.compressor !== undefined) return this.compressor.end(() => this.finish('-'));
    this.res.end();
    this.finish('-');
  }

  /**
   * The backend switched protocols: answer the client's handshake with the backend's 101 and
   * relay bytes both ways. The attempt keeps its in-flight slot until the tunnel closes, so
   * least-connections and `max_connections` see open tunnels.
   */
  onUpgraded(attempt: Attempt, status: number, raw: Buffer[], _statusText: string, upstreamSocket: Socket): void {
    const client = this.upgrade;
    this.current = undefined;
    if (client === undefined || this.clientGone || client.socket.destroyed) {
      attempt.settle(status, 'neutral');
      upstreamSocket.destroy();
      return this.finish('DC');
    }
    this.status = status;
    this.upstreamMs = this.env.clock() - attempt.startedAt;
    attempt.settle(status, 'ok', true);
    this.res.off('close', this.onClientClose);
    this.res.detachSocket(client.socket);
    client.detach();
    // Header values were decoded as latin1: write them back byte for byte.
    client.socket.write(upgradeResponseHead(status, raw), 'latin1');
    const upstream = attempt.upstream;
    upstream.tunnels += 1;
    upstream.tunnelsTotal += 1;
    const { tunnelIdleMs, idleMs } = this.pool.config.timeouts;
    this.tunnel = new Tunnel(client.socket, upstreamSocket, client.head, tunnelIdleMs, idleMs, (end, tunnel) => {
      upstream.tunnels -= 1;
      this.env.tunnels.delete(tunnel);
      attempt.release();
      this.bytesOut = tunnel.bytesOut;
      this.finish(end);
    });
    this.env.tunnels.set(this.tunnel, upstream);
  }

  /**
   * velo's shutdown ran out of time (or was forced) with this request in flight: neither the
   * client's nor the backend's doing. The client's connection is gone; the record says `SD`.
   */
  private cutByVelo(): void {
    const attempt = this.current;
    this.current = undefined;
    attempt?.settle(0, 'neutral');
    attempt?.cancel();
    this.res.destroy();
    this.finish('SD');
  }

  /** Called once per attempt that ended without a complete response. */
  onAttemptError(attempt: Attempt, err: Error & { code?: string }): void {
    if (this.env.cutting) {
      this.current = attempt;
      return this.cutByVelo();
    }
    this.current = undefined;
    if (err instanceof AttemptCancelled && this.clientGone) {
      attempt.settle(0, 'neutral');
      return this.finish('DC');
    }
    if (err instanceof InvalidUpstreamResponse) {
      attempt.settle(0, 'error');
      this.reply(502, 'invalid response from upstream');
      return this.finish('UC');
    }
    if (attempt.statusRetry !== undefined) {
      attempt.settle(attempt.statusRetry, 'ok');
      return this.retryLater('status');
    }
    if (!attempt.connected && err.code !== undefined && UNSENDABLE_REQUEST.has(err.code)) {
      // undici refused to build the request (e.g. two Host headers): the client's fault, and
      // no backend must be blamed for it.
      attempt.settle(0, 'neutral');
      this.reply(400, `request cannot be forwarded: ${err.message}`);
      return this.finish('DPE');
    }
    if (this.res.headersSent) {
      // The backend broke mid-response: end the client's response rather than leave it hanging.
      attempt.settle(this.status, 'error');
      this.res.destroy();
      return this.finish('UC');
    }
    if (this.isStaleConnection(attempt, err)) {
      // A keep-alive race, not a backend failure: send it again on a fresh connection.
      attempt.settle(0, 'neutral');
      this.staleResends += 1;
      this.retries += 1;
      this.env.totals.retries += 1;
      const next = this.pickUpstream() ?? (attempt.upstream.isAvailable() ? attempt.upstream : undefined);
      if (next !== undefined) return this.send(next);
      this.lastFailure = 'reset';
      return this.failWith('reset');
    }
    const failure: AttemptFailure =
      !attempt.connected || (err.code !== undefined && CONNECT_ERRORS.has(err.code))
        ? 'connect'
        : err instanceof AttemptTimedOut
          ? 'timeout'
          : 'reset';
    attempt.settle(0, 'error');
    this.lastFailure = failure;
    if (this.canRetry(failure)) return this.retryLater(failure);
    this.failWith(failure);
  }

  /**
   * True when the attempt failed on a reused connection before any byte of its response and
   * may be sent again (RFC 9112 section 9.3.1: automatic retry only for idempotent methods, or
   * when the user agent knows the request is idempotent): an idempotent method, or
   * `retry.retry_non_idempotent`, or an `Idempotency-Key` header; and a body velo still holds
   * in full. "No response byte" cannot tell a keep-alive race from a backend that processed
   * the request and then died, so a POST is never resent on that evidence alone.
   */
  private isStaleConnection(attempt: Attempt, err: Error): boolean {
    const conn = attempt.connection;
    if (conn === undefined || conn.requests < 2 || conn.responseBytes > 0 || attempt.responded) return false;
    if (err instanceof AttemptCancelled || err instanceof AttemptTimedOut || this.clientGone) return false;
    if (this.staleResends >= MAX_STALE_RESENDS) return false;
    if (this.body !== undefined && !this.body.replayable) return false;
    return isIdempotent(this.req.method!) || this.pool.config.retry.retryNonIdempotent || this.req.headers['idempotency-key'] !== undefined;
  }

  /**
   * True when a retry is allowed and can actually be sent: policy, replayable body, an
   * available backend not yet tried, and room in the budget (checked, not spent, here).
   */
  private canRetry(failure: AttemptFailure): boolean {
    const retry = this.pool.config.retry;
    if (this.clientGone || this.attempts - this.staleResends > retry.attempts || this.deadlinePassed()) return false;
    if (!mayRetry(failure, this.req.method!, retry)) return false;
    if (this.body !== undefined && !this.body.replayable) return false;
    if (!this.pool.upstreams.some((u) => !this.tried.has(u) && u.isAvailable())) return false;
    return failure === 'connect' || this.pool.retryBudget.hasRoom(retry);
  }

  private retryLater(failure: AttemptFailure): void {
    this.lastFailure = failure;
    const delay = backoffMs(this.retries, this.pool.config.retry, this.env.random);
    if (this.env.logger.enabled('debug')) {
      this.env.logger.debug('retrying on another backend', { requestId: this.requestId, pool: this.pool.name, failure, name: this.backend?.name, url: this.backend?.url.origin, attempt: this.attempts, delayMs: Math.round(delay) });
    }
    if (delay <= 0) return this.retryNow();
    setTimeout(() => this.retryNow(), delay);
  }

  /**
   * The budget is checked when the retry is sent and counts retry attempts in flight, as
   * Envoy's does. A retry after a connect failure is exempt: that attempt reached no backend,
   * so retrying it multiplies no backend's load (open breakers bound a hard outage instead).
   */
  private retryNow(): void {
    if (this.finished) return;
    if (this.clientGone) return this.finish('DC');
    if (this.lastFailure !== 'connect' && !this.pool.retryBudget.allows(this.pool.config.retry)) {
      return this.failWith(this.lastFailure ?? 'reset');
    }
    this.retries += 1;
    this.env.totals.retries += 1;
    this.attempt();
  }

  /** True once the client's own deadline (`grpc-timeout`) has passed: nothing more is tried. */
  private deadlinePassed(): boolean {
    return this.deadlineAt !== undefined && this.env.clock() >= this.deadlineAt;
  }

  private failWith(failure: AttemptFailure): void {
    if (failure === 'timeout' || this.deadlinePassed()) {
      this.reply(504, this.deadlinePassed() ? 'deadline exceeded' : 'upstream timed out');
      return this.finish('UT');
    }
    this.reply(502, failure === 'connect' ? 'upstream connect failed' : 'upstream connection reset');
    this.finish(failure === 'connect' ? 'UF' : 'UC');
  }

  /** velo's own answer to the client (JSON body), for requests and handshakes alike. */
  private reply(status: number, message: string, headers?: Record<string, string>): void {
    this.status = status;
    this.bytesOut += sendError(this.res, status, message, this.requestId, this.env.shuttingDown ? { ...headers, connection: 'close' } : headers);
  }

  private finish(termination: TerminationCause): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stalled);
    this.compressor?.close();
    this.res.off('close', this.onClientClose);
    if (this.waiter !== undefined) this.pool.queue.release(this.waiter);
    this.pool.retryBudget.active -= 1;
    const totals = this.env.totals;
    totals.inFlight -= 1;
    countFinished(totals, this.status, termination);
    if (this.env.observers.length === 0) return;
    const record = {
      id: this.requestId,
      at: this.env.wallClock(),
      clientIp: this.clientIp,
      method: this.req.method!,
      path: this.target.path,
      host: this.target.authority ?? this.req.headers.host,
      // 499 (nginx): the client left before any answer; 0: velo's shutdown cut it before one.
      status: termination === 'DC' && this.status === 0 ? 499 : termination === 'SD' && !this.res.headersSent && this.status !== 101 ? 0 : this.status,
      pool: this.pool.name,
      backend: this.backend?.id,
      backendName: this.backend?.name,
      attempts: this.attempts,
      upstreamMs: this.upstreamMs,
      totalMs: this.env.clock() - this.startedAt,
      bytesIn: this.tunnel?.bytesIn ?? this.body?.bytes ?? 0,
      bytesOut: this.bytesOut + (this.compressor?.bytesOut ?? 0),
      termination,
      traceId: this.traceId,
      ...(this.env.recordClientHeaders ? { referer: this.req.headers.referer, userAgent: this.req.headers['user-agent'], httpVersion: this.req.httpVersion } : undefined),
    };
    for (const observe of this.env.observers) {
      try {
        observe(record);
      } catch {
        // An observer (access log, metrics) must never take the proxy down from a socket event.
      }
    }
  }
}
