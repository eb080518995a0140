/**
 * One try of a request against one backend: undici's dispatch handler for it, its response
 * deadline, and the one place its outcome is counted against the backend (stats, breaker,
 * outlier detection, retry budget). The request it belongs to decides what happens next.
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import { claimNextRequest, type ConnectionClaimant, type ConnectionUse } from '../upstream/connector.js';

/** Why velo itself aborts an attempt; never counted against the backend. */
export class AttemptCancelled extends Error {}

/** No response headers within the (per-try) response timeout; the backend's failure. */
export class AttemptTimedOut extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** The client's own deadline (gRPC `grpc-timeout`, src/engine/grpc.ts) passed before response headers. */
export class DeadlineExceeded extends AttemptTimedOut {}

/**
 * A response's trailer fields as undici reports them: raw `[name, value, ...]` (buffers) from an
 * HTTP/1.1 chunked body, an object from an HTTP/2 stream, or nothing.
 */
export type UpstreamTrailers = Buffer[] | string[] | Record<string, string | string[] | undefined> | null | undefined;

/** The backend's response cannot be relayed as HTTP; counted as the backend's failure. */
export class InvalidUpstreamResponse extends Error {
  readonly code = 'E_INVALID_UPSTREAM_RESPONSE';
}

/** What an attempt reports to the request it belongs to. */
export interface AttemptOwner {
  onInterim(attempt: Attempt, status: number, raw: Buffer[]): void;
  onResponseHeaders(attempt: Attempt, status: number, raw: Buffer[], statusText: string, resume: () => void): boolean;
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(attempt: Attempt, trailers?: UpstreamTrailers): void;
  onUpgraded(attempt: Attempt, status: number, raw: Buffer[], statusText: string, socket: Socket): void;
  onAttemptError(attempt: Attempt, err: Error & { code?: string }): void;
}

/** One try against one backend; implements undici's dispatch handler. */
export class Attempt implements Dispatcher.DispatchHandler, ConnectionClaimant {
  readonly startedAt: number;
  /** undici handed the request to a socket (onConnect ran). */
  connected = false;
  /** Response headers (a final status) arrived. */
  responded = false;
  statusRetry: number | undefined;
  /** The backend connection the request head went out on (see connector.ts). */
  connection: ConnectionUse | undefined;
  /** The response has been delivered in full; later undici callbacks are ignored. */
  done = false;
  private abortFn: ((err?: Error) => void) | undefined;
  private cancelled: Error | undefined;
  private settled = false;
  private released = false;
  private readonly isProbe: boolean;
  private deadline: NodeJS.Timeout | undefined;
  /** The client's deadline (`deadlineAt`), which the upload does not pause. */
  private clientDeadline: NodeJS.Timeout | undefined;

  /**
   * Takes one in-flight slot on `upstream` (and a retry slot when `isRetry`) until `release()`.
   * `responseTimeoutMs` (> 0) bounds, with Node's timer (undici's own are coarse above 1 s: up
   * to 0.5 s late), first the wait for a connection and then, once the whole request has been
   * sent, the wait for response headers. The upload in between is not timed here (a slow
   * client's upload is bounded by `client_timeouts.request`), as undici's headersTimeout.
   * `deadlineAt` (a `clock` time) is the client's own deadline for the response headers, upload
   * included (gRPC's `grpc-timeout` counts from the call's start); passing it ends the attempt
   * with `DeadlineExceeded`.
   */
  constructor(
    private readonly owner: AttemptOwner,
    readonly upstream: Upstream,
    private readonly pool: Pool,
    private readonly clock: () => number,
    private readonly isRetry: boolean,
    private readonly responseTimeoutMs: number,
    /** The request has a body, whose upload the response deadline must not count. */
    private readonly hasBody = true,
    deadlineAt?: number,
  ) {
    this.startedAt = clock();
    upstream.inFlight += 1;
    if (isRetry) pool.retryBudget.retriesInFlight += 1;
    this.isProbe = upstream.breaker.onDispatch();
    this.armDeadline();
    if (deadlineAt !== undefined) {
      const ms = Math.max(0, Math.ceil(deadlineAt - this.startedAt));
      this.clientDeadline = setTimeout(() => this.cancel(new DeadlineExceeded(`the client's deadline passed before response headers (${ms} ms left at the start of the attempt)`)), ms);
    }
  }

  private armDeadline(): void {
    const ms = this.responseTimeoutMs;
    if (ms <= 0 || this.done) return;
    // One timer per attempt, restarted rather than replaced (most requests have no body).
    if (this.deadline !== undefined) this.deadline.refresh();
    else this.deadline = setTimeout(() => this.cancel(new AttemptTimedOut(`no response headers within ${ms} ms`)), ms);
  }

  /** Aborts this attempt on velo's behalf (client gone, a status to retry, a deadline). */
  cancel(reason: Error = new AttemptCancelled('cancelled')): void {
    this.cancelled ??= reason;
    // With pipelining 1 the socket carries only this request: closing it ends the attempt
    // without undici opening a replacement connection (see ConnectionUse.socket).
    const socket = this.connection?.socket;
    if (socket !== undefined && !socket.destroyed && !this.done) socket.destroy(this.cancelled);
    else if (this.abortFn !== undefined) this.abortFn(this.cancelled);
    else if (!this.done) {
      // Not handed to a socket yet (connecting, or queued in undici): end the attempt now; when
      // undici gets to it, onConnect aborts it and its onError is ignored.
      this.done = true;
      this.clearDeadline();
      const reason = this.cancelled;
      setImmediate(() => this.owner.onAttemptError(this, reason));
    }
  }

  retryOnStatus(status: number): void {
    this.statusRetry = status;
    this.cancel();
  }

  /** The response was delivered without waiting for undici (a body-less status): ignore the rest. */
  markDone(): void {
    this.done = true;
    this.clearDeadline();
  }

  /**
   * Counts the outcome once: `ok` a complete response (a 5xx counts as a failure for stats,
   * and for the breaker when `count_5xx`), `error` no or a cut response, `neutral` not the
   * backend's doing (the client left, a stale keep-alive connection). Releases the slot too
   * unless `keepSlot` (an upgraded tunnel holds it until it closes).
   */
  settle(status: number, outcome: 'ok' | 'error' | 'neutral', keepSlot = false): void {
    this.clearDeadline();
    if (!keepSlot) this.release();
    if (this.settled) return;
    this.settled = true;
    const u = this.upstream;
    if (this.isRetry) this.pool.retryBudget.retriesInFlight -= 1;
    if (outcome === 'neutral') return this.pool.judge(u, 0, 'neutral', this.isProbe);
    const failed = outcome === 'error' || status >= 500;
    u.recordAttempt(status, this.clock() - this.startedAt, failed);
    if (!failed) this.pool.retryBudget.deposit(this.pool.config.retry);
    const verdict = outcome === 'error' || (status >= 500 && u.breaker.countsHttp5xx) ? 'failure' : 'success';
    this.pool.judge(u, outcome === 'error' ? 0 : status, verdict, this.isProbe);
  }

  /** Frees the backend's in-flight slot (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.upstream.release();
  }

  /** Stops both deadlines: the response has started, or the attempt is over. */
  private clearDeadline(): void {
    this.pauseResponseDeadline();
    if (this.clientDeadline !== undefined) clearTimeout(this.clientDeadline);
    this.clientDeadline = undefined;
  }

  private pauseResponseDeadline(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.connected = true;
    if (this.cancelled !== undefined) return abort(this.cancelled);
    claimNextRequest(this);
    // The request is being written: its upload is not the backend's to answer for. (Without a
    // body, onRequestSent follows at once and restarts the timer.)
    if (this.hasBody) this.pauseResponseDeadline();
  }

  /** The whole request (head and body) is written: the wait for the response starts now. */
  onRequestSent(): void {
    this.armDeadline();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done) return false;
    if (statusCode < 200) {
      this.owner.onInterim(this, statusCode, rawHeaders);
      return true;
    }
    this.responded = true;
    this.clearDeadline();
    return this.owner.onResponseHeaders(this, statusCode, rawHeaders, statusText, resume);
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return true;
    return this.owner.onResponseData(chunk);
  }

  onComplete(trailers?: UpstreamTrailers): void {
    if (this.done) return;
    this.done = true;
    this.owner.onResponseEnd(this, trailers);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Socket): void {
    this.responded = true;
    this.clearDeadline();
    const raw = (rawHeaders ?? []).map((h) => (typeof h === 'string' ? Buffer.from(h, 'latin1') : h));
    this.owner.onUpgraded(this, statusCode, raw, '', socket);
  }

  onError(err: Error): void {
    this.clearDeadline();
    if (this.done) return;
    this.done = true;
    this.owner.onAttemptError(this, this.cancelled ?? err);
  }
}
