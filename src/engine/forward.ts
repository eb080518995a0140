/**
 * One request's path through velo: pick a backend, send the request on its keep-alive pool,
 * stream the answer back, and on failure try another backend when that is safe. Every path
 * ends in exactly one `finish()`, which releases counters and tells the observers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import { backoffMs, mayRetry, type AttemptFailure } from '../resilience/retry-policy.js';
import type { Waiter } from '../resilience/queue.js';
import { readCookie } from '../balancing/sticky.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { RequestBody, hasRequestBody } from './request-body.js';
import { sendError } from './reply.js';
import { countFinished, type ForwardEnv, type TerminationCause } from './request-record.js';

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

/** Why velo itself aborts an attempt; never counted against the backend. */
class AttemptCancelled extends Error {}

/** The backend's response cannot be relayed as HTTP; counted as the backend's failure. */
class InvalidUpstreamResponse extends Error {
  readonly code = 'E_INVALID_UPSTREAM_RESPONSE';
}

export class ForwardRequest {
  private readonly startedAt: number;
  private readonly tried = new Set<Upstream>();
  private readonly body: RequestBody | undefined;
  private readonly headers: string[];
  private current: Attempt | undefined;
  private attempts = 0;
  private retries = 0;
  private finished = false;
  private clientGone = false;
  private resume: (() => void) | undefined;
  private drainListening = false;
  private status = 0;
  private backend: Upstream | undefined;
  private upstreamMs = -1;
  private bytesOut = 0;

  constructor(
    private readonly env: ForwardEnv,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly pool: Pool,
    private readonly requestId: string,
    private readonly peerIp: string,
    private readonly clientIp: string,
  ) {
    this.startedAt = env.clock();
    this.body = hasRequestBody(req) ? new RequestBody(req, pool.config.retry.maxBodyBytes) : undefined;
    this.headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
      peerIp,
      clientIp,
      proto: env.proto,
      requestId,
      trusted: env.isTrustedPeer(peerIp),
    });
    pool.retryBudget.active += 1;
    env.totals.inFlight += 1;
    res.once('close', this.onClientClose);
  }

  start(): void {
    this.attempt();
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    if (this.current !== undefined) this.current.cancel();
    else this.finish('DC');
  };

  private attempt(): void {
    if (this.finished) return;
    if (this.clientGone) return this.finish('DC');
    const sticky = this.pool.config.sticky;
    const pinned = sticky.enabled && this.attempts === 0 ? this.env.sticky.pinned(this.pool.name, sticky, this.pool.upstreams, this.stickyValue()) : undefined;
    const upstream =
      pinned ??
      this.pool.pick({
        clientIp: this.clientIp,
        url: this.req.url!,
        now: this.env.clock(),
        random: this.env.random,
        exclude: this.tried,
      });
    if (upstream === undefined) {
      if (this.attempts > 0) return this.failWith(this.lastFailure ?? 'connect');
      if (!this.pool.isSaturated()) return this.unavailable('UH', 'no backend available');
      if (this.pool.config.queue.size > 0 && this.enqueue()) return;
      return this.unavailable('UO', 'all backends at max_connections and the queue is full');
    }
    if (this.waiter !== undefined) this.pool.queue.release(this.waiter);
    this.tried.add(upstream);
    this.attempts += 1;
    this.backend = upstream;
    this.current = new Attempt(this, upstream, this.pool, this.env.clock, this.retries > 0);
    const timeouts = this.pool.config.timeouts;
    const perTry = this.pool.config.retry.perTryTimeoutMs;
    upstream.dispatcher.dispatch(
      {
        path: this.req.url!,
        method: this.req.method!,
        headers: this.headers,
        // undici streams async iterables (client-h1 writeIterable); its types only list Readable.
        body: (this.body?.source() ?? null) as Dispatcher.DispatchOptions['body'],
        headersTimeout: perTry > 0 ? Math.min(perTry, timeouts.responseMs) : timeouts.responseMs,
        bodyTimeout: timeouts.idleMs,
      },
      this.current,
    );
  }

  private lastFailure: AttemptFailure | undefined;
  private waiter: Waiter | undefined;

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
    sendError(this.res, 503, message, this.requestId, { 'retry-after': retryAfter });
    this.status = 503;
    this.finish(termination);
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
    const headers = clientResponseHeaders(raw);
    const sticky = this.pool.config.sticky;
    const cookie = sticky.enabled && this.backend !== undefined ? this.env.sticky.setCookie(this.pool.name, sticky, this.backend.id, this.stickyValue(), this.env.proto === 'https') : undefined;
    if (cookie !== undefined) headers.push('set-cookie', cookie);
    try {
      this.res.writeHead(status, statusText, headers);
    } catch (err) {
      // A header Node will not write (bad characters, bad status text): the backend's fault.
      attempt.cancel(new InvalidUpstreamResponse((err as Error).message));
      return false;
    }
    return true;
  }

  private stickyValue(): string | undefined {
    return readCookie(this.req.headers.cookie, this.pool.config.sticky.cookie);
  }

  onResponseData(chunk: Buffer): boolean {
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

  private stalled: NodeJS.Timeout | undefined;

  onResponseEnd(attempt: Attempt): void {
    attempt.settle(this.status, 'ok');
    this.current = undefined;
    this.res.end();
    this.finish('-');
  }

  /** Called once per attempt that ended without a complete response. */
  onAttemptError(attempt: Attempt, err: Error & { code?: string }): void {
    this.current = undefined;
    if (err instanceof AttemptCancelled && this.clientGone) {
      attempt.settle(0, 'neutral');
      return this.finish('DC');
    }
    if (err instanceof InvalidUpstreamResponse) {
      attempt.settle(0, 'error');
      this.status = 502;
      sendError(this.res, 502, 'invalid response from upstream', this.requestId);
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
      this.status = 400;
      sendError(this.res, 400, `request cannot be forwarded: ${err.message}`, this.requestId);
      return this.finish('DPE');
    }
    if (this.res.headersSent) {
      // The backend broke mid-response: end the client's response rather than leave it hanging.
      attempt.settle(this.status, 'error');
      this.res.destroy();
      return this.finish('UC');
    }
    const failure: AttemptFailure =
      !attempt.connected || (err.code !== undefined && CONNECT_ERRORS.has(err.code))
        ? 'connect'
        : err.code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'timeout'
          : 'reset';
    attempt.settle(0, 'error');
    this.lastFailure = failure;
    if (this.canRetry(failure)) return this.retryLater(failure);
    this.failWith(failure);
  }

  /**
   * True when a retry is allowed and can actually be sent: policy, replayable body, an
   * available backend not yet tried, and room in the budget (checked, not spent, here).
   */
  private canRetry(failure: AttemptFailure): boolean {
    const retry = this.pool.config.retry;
    if (this.clientGone || this.attempts > retry.attempts) return false;
    if (!mayRetry(failure, this.req.method!, retry)) return false;
    if (this.body !== undefined && !this.body.replayable) return false;
    if (!this.pool.upstreams.some((u) => !this.tried.has(u) && u.isAvailable())) return false;
    return failure === 'connect' || this.pool.retryBudget.hasRoom(retry);
  }

  private retryLater(failure: AttemptFailure): void {
    this.lastFailure = failure;
    const delay = backoffMs(this.retries, this.pool.config.retry, this.env.random);
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

  private failWith(failure: AttemptFailure): void {
    if (failure === 'timeout') {
      this.status = 504;
      sendError(this.res, 504, 'upstream timed out', this.requestId);
      return this.finish('UT');
    }
    this.status = 502;
    sendError(this.res, 502, failure === 'connect' ? 'upstream connect failed' : 'upstream connection reset', this.requestId);
    this.finish(failure === 'connect' ? 'UF' : 'UC');
  }

  private finish(termination: TerminationCause): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stalled);
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
      path: this.req.url!,
      host: this.req.headers.host,
      status: termination === 'DC' && !this.res.headersSent ? 499 : this.status,
      pool: this.pool.name,
      backend: this.backend?.id,
      attempts: this.attempts,
      upstreamMs: this.upstreamMs,
      totalMs: this.env.clock() - this.startedAt,
      bytesIn: this.body?.bytes ?? 0,
      bytesOut: this.bytesOut,
      termination,
    };
    for (const observe of this.env.observers) observe(record);
  }
}

/** One try against one backend; implements undici's dispatch handler. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly startedAt: number;
  connected = false;
  statusRetry: number | undefined;
  private abortFn: ((err?: Error) => void) | undefined;
  private cancelled: Error | undefined;
  private settled = false;
  private readonly isProbe: boolean;

  constructor(
    private readonly request: ForwardRequest,
    private readonly upstream: Upstream,
    private readonly pool: Pool,
    private readonly clock: () => number,
    private readonly isRetry: boolean,
  ) {
    this.startedAt = clock();
    upstream.inFlight += 1;
    if (isRetry) pool.retryBudget.retriesInFlight += 1;
    this.isProbe = upstream.breaker.onDispatch();
  }

  /** Aborts this attempt on velo's behalf (client gone, or a status to retry). */
  cancel(reason: Error = new AttemptCancelled('cancelled')): void {
    this.cancelled ??= reason;
    this.abortFn?.(this.cancelled);
  }

  retryOnStatus(status: number): void {
    this.statusRetry = status;
    this.cancel();
  }

  /**
   * Releases the backend's slot and counts the outcome once: `ok` a complete response (a 5xx
   * counts as a failure for stats, and for the breaker when `count_5xx`), `error` no or a cut
   * response, `neutral` the client left (never the backend's fault).
   */
  settle(status: number, outcome: 'ok' | 'error' | 'neutral'): void {
    if (this.settled) return;
    this.settled = true;
    const u = this.upstream;
    u.release();
    if (this.isRetry) this.pool.retryBudget.retriesInFlight -= 1;
    if (outcome === 'neutral') {
      u.breaker.recordNeutral(this.isProbe);
      return;
    }
    const failed = outcome === 'error' || status >= 500;
    u.recordAttempt(status, this.clock() - this.startedAt, failed);
    if (outcome === 'error' || (status >= 500 && u.breaker.countsHttp5xx)) u.breaker.recordFailure(this.isProbe);
    else u.breaker.recordSuccess(this.isProbe);
    if (!failed) this.pool.retryBudget.deposit(this.pool.config.retry);
    this.pool.outliers.record(u, outcome === 'error' ? 0 : status, this.pool.upstreams);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.connected = true;
    if (this.cancelled !== undefined) abort(this.cancelled);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    return this.request.onResponseHeaders(this, statusCode, rawHeaders, statusText, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.request.onResponseData(chunk);
  }

  onComplete(): void {
    this.request.onResponseEnd(this);
  }

  onError(err: Error): void {
    this.request.onAttemptError(this, this.cancelled ?? err);
  }
}
