/**
 * A per-backend circuit breaker: closed -> open after `failureThreshold` consecutive failures;
 * open -> half-open once `resetTimeoutMs` has passed, letting at most `halfOpenRequests`
 * concurrent probes through; half-open -> closed after that many successes, or straight back
 * to open (timer restarted) on any failure. The clock is injected.
 */
import type { CircuitBreakerConfig } from '../config/types.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/** Numeric encoding used by `velo_circuit_state`. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class CircuitBreaker {
  private stateValue: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private halfOpenSuccesses = 0;
  private probesInFlight = 0;
  private openedAt = 0;
  /** Called on every state change, for events and metrics. */
  onTransition: (from: CircuitState, to: CircuitState) => void = () => {};

  constructor(
    private config: CircuitBreakerConfig,
    private readonly clock: () => number,
  ) {}

  /** Current state; an open breaker whose reset timeout has passed reads as half-open. */
  get state(): CircuitState {
    if (this.stateValue === 'open' && this.clock() - this.openedAt >= this.config.resetTimeoutMs) {
      this.transition('half-open');
    }
    return this.stateValue;
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Whether 5xx answers count as failures (`circuit_breaker.count_5xx`). */
  get countsHttp5xx(): boolean {
    return this.config.countHttp5xx;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  retryAfterMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.openedAt + this.config.resetTimeoutMs - this.clock());
  }

  /** True when a request may be sent now (closed, or half-open with a free probe slot). */
  allowsRequest(): boolean {
    if (!this.config.enabled) return true;
    const state = this.state;
    if (state === 'closed') return true;
    return state === 'half-open' && this.probesInFlight < this.config.halfOpenRequests;
  }

  /** Marks a request as sent; returns a token to pass back to `recordSuccess`/`recordFailure`. */
  onDispatch(): boolean {
    const isProbe = this.config.enabled && this.state === 'half-open';
    if (isProbe) this.probesInFlight += 1;
    return isProbe;
  }

  recordSuccess(isProbe: boolean): void {
    if (isProbe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
    this.consecutiveFailures = 0;
    if (this.stateValue === 'half-open') {
      this.halfOpenSuccesses += 1;
      if (this.halfOpenSuccesses >= this.config.halfOpenRequests) this.transition('closed');
    }
  }

  recordFailure(isProbe: boolean): void {
    if (isProbe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
    this.consecutiveFailures += 1;
    if (!this.config.enabled) return;
    if (this.stateValue === 'half-open') {
      this.open();
    } else if (this.stateValue === 'closed' && this.consecutiveFailures >= this.config.failureThreshold) {
      this.open();
    }
  }

  /** A finished request that says nothing about the backend (e.g. the client went away). */
  recordNeutral(isProbe: boolean): void {
    if (isProbe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  /**
   * A worker's half of a verdict the control plane makes: frees the probe slot of a finished
   * request without judging it (cluster/plane-state.ts sends the verdict to the primary).
   */
  releaseProbe(isProbe: boolean): void {
    if (isProbe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  /**
   * Takes the control plane's state (a worker's replica): `retryAfterMs` is how long an open
   * breaker has left before it lets probes through, so the two processes' monotonic clocks
   * never have to agree. Calls `onTransition` like any change.
   */
  mirror(state: CircuitState, retryAfterMs: number): void {
    if (state === 'open') this.openedAt = this.clock() - Math.max(0, this.config.resetTimeoutMs - retryAfterMs);
    if (state === 'closed') this.consecutiveFailures = 0;
    this.transition(state);
  }

  /** Closes the breaker (an active health check passed after recovery, or an operator reset). */
  reset(): void {
    this.consecutiveFailures = 0;
    if (this.stateValue !== 'closed') this.transition('closed');
  }

  updateConfig(config: CircuitBreakerConfig): void {
    this.config = config;
    if (!config.enabled) this.reset();
  }

  private open(): void {
    this.openedAt = this.clock();
    this.transition('open');
  }

  private transition(to: CircuitState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.halfOpenSuccesses = 0;
    if (to !== 'half-open') this.probesInFlight = 0;
    if (to === 'closed') this.consecutiveFailures = 0;
    this.onTransition(from, to);
  }
}
