/**
 * The one interface every balancing policy implements. A strategy is synchronous, does no I/O,
 * and looks only at what `Balanceable` exposes; randomness and the clock arrive through
 * `PickContext` so tests are exact.
 */

/** What a strategy may know about a backend. `Upstream` implements it. */
export interface Balanceable {
  /** Stable identity, unique within a pool (the normalized URL). */
  readonly id: string;
  /** Requests currently in flight to this backend from this process. */
  readonly inFlight: number;
  /** In flight from the other workers as of their last report (about 250 ms old); absent or 0 in one process. */
  readonly peerInFlight?: number;
  /** Configured weight, >= 1 (0 never reaches a strategy). */
  readonly weight: number;
  /** Weight after slow start; equals `weight` when no ramp is in progress. */
  effectiveWeight(now: number): number;
  /** Healthy, not draining, breaker not open, not ejected. */
  isAvailable(): boolean;
  /** Peak-EWMA of response time in ms as of `now`, or undefined before the first sample or once it is stale. */
  latencyEwmaMs(now: number): number | undefined;
}

/**
 * Requests in flight to `u` from every worker: this process's live count plus the others' last
 * reported ones. Least-connections, power-of-two and least-latency compare this, so with
 * workers they balance on the aggregate, not on each process's share (docs/architecture.md).
 */
export function inFlightEverywhere(u: Balanceable): number {
  return u.inFlight + (u.peerInFlight ?? 0);
}

export interface PickContext {
  /** Client IP as velo trusts it (socket address, or X-Forwarded-For from a trusted proxy). */
  clientIp: string;
  /** Request path with query, for url-hash. */
  url: string;
  /** Milliseconds, from the engine's injectable clock. */
  now: number;
  /** Uniform in [0, 1), from the engine's injectable random source. */
  random: () => number;
  /** Backends already tried for this request; a retry never picks them again. */
  exclude?: ReadonlySet<Balanceable>;
  /** Panic mode: ignore availability and balance over every backend not excluded. */
  ignoreAvailability?: boolean;
}

export interface Strategy {
  /** Canonical kebab-case name. */
  readonly name: string;
  /** Chooses a backend, or undefined when none is eligible. `upstreams` keeps config order. */
  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined;
}

/** True when `u` may receive this request: available (unless panicking) and not yet tried. */
export function isEligible(u: Balanceable, ctx: PickContext): boolean {
  if (ctx.exclude !== undefined && ctx.exclude.has(u)) return false;
  return ctx.ignoreAvailability === true || u.isAvailable();
}
