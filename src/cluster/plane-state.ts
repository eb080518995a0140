/**
 * Backend state crossing the plane boundary: the control plane captures what it decided
 * (health, breaker, ejection, slow start, aggregate in-flight) and each worker mirrors it onto
 * its replica `Upstream`s. Times travel as remaining or elapsed ms, so the processes'
 * monotonic clocks never have to agree.
 */
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import type { PlaneState } from './messages.js';

/** The state of every backend of `pools` at monotonic `now` (ms), as version `version`. */
export function captureState(pools: readonly Pool[], now: number, version: number): PlaneState {
  return {
    version,
    pools: pools.map((p) => ({
      name: p.name,
      backends: p.upstreams.map((u) => ({
        id: u.id,
        health: u.health.state,
        circuit: u.breaker.state,
        retryAfterMs: u.breaker.retryAfterMs(),
        ejectedMs: u.isEjected() ? Math.max(0, u.ejectedUntil - now) : 0,
        rampElapsedMs: u.rampStartedAt > 0 && u.slowStartMs > 0 ? Math.max(0, now - u.rampStartedAt) : -1,
        inFlight: u.inFlight,
      })),
    })),
  };
}

/**
 * Mirrors `state` onto a worker's backends at its monotonic `now` (ms). `ownInFlight` is what
 * this worker last reported for a backend, so the rest of the aggregate is the other workers'
 * (`peerInFlight`). Backends the state does not name are left alone (a config apply adds them).
 */
export function mirrorState(pools: readonly Pool[], state: PlaneState, now: number, ownInFlight: (u: Upstream) => number): void {
  for (const ps of state.pools) {
    const pool = pools.find((p) => p.name === ps.name);
    if (pool === undefined) continue;
    for (const b of ps.backends) {
      const u = pool.upstreams.find((x) => x.id === b.id);
      if (u === undefined) continue;
      if (u.health.state !== b.health) u.health.set(b.health);
      // An open breaker is re-mirrored every time: it may have re-opened with a fresh timer.
      if (b.circuit === 'open' || u.breaker.state !== b.circuit) u.breaker.mirror(b.circuit, b.retryAfterMs);
      u.ejectedUntil = b.ejectedMs > 0 ? now + b.ejectedMs : 0;
      u.rampStartedAt = b.rampElapsedMs >= 0 ? now - b.rampElapsedMs : 0;
      u.peerInFlight = Math.max(0, b.inFlight - ownInFlight(u));
    }
  }
}
