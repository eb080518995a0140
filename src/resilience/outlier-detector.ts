/**
 * Passive outlier ejection, after Envoy's: consecutive gateway failures (connect errors,
 * timeouts, resets, 502/503/504), or any 5xx when `count_5xx` is set, eject a backend for
 * `base_ejection_time` x (times ejected), capped at `max_ejection_time`. At most
 * `max_ejection_percent` of a pool is ejected at once, but always at least one may be. Each
 * `base_ejection_time` a backend then serves without being ejected lowers its multiplier by
 * one again, as Envoy does, so old hiccups do not earn the maximum ejection forever.
 */
import type { OutlierConfig } from '../config/types.js';
import type { Upstream } from '../upstream/upstream.js';

export class OutlierDetector {
  private readonly consecutive = new WeakMap<Upstream, number>();
  /** When each backend's multiplier last changed (ejection end, or a decay step). */
  private readonly lastChange = new WeakMap<Upstream, number>();

  constructor(
    public config: OutlierConfig,
    private readonly clock: () => number,
    private readonly onEject: (u: Upstream, durationMs: number) => void,
  ) {}

  /** Records one attempt's outcome; `status` 0 means no response (connect error, timeout, reset). */
  record(u: Upstream, status: number, pool: readonly Upstream[]): void {
    if (!this.config.enabled) return;
    const gatewayFailure = status === 0 || status === 502 || status === 503 || status === 504;
    const failure = gatewayFailure || (this.config.count5xx && status >= 500);
    if (!failure) {
      this.consecutive.set(u, 0);
      this.decay(u);
      return;
    }
    const count = (this.consecutive.get(u) ?? 0) + 1;
    this.consecutive.set(u, count);
    if (count < this.config.consecutiveFailures || u.isEjected()) return;
    const ejected = pool.filter((p) => p.isEjected()).length;
    const allowed = Math.max(1, Math.floor((pool.length * this.config.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    this.eject(u);
  }

  /** Lowers the ejection multiplier by one per base ejection time served since the last change. */
  private decay(u: Upstream): void {
    if (u.ejectionCount === 0 || u.isEjected()) return;
    const now = this.clock();
    const since = this.lastChange.get(u) ?? u.ejectedUntil;
    const periods = Math.floor((now - since) / this.config.baseEjectionMs);
    if (periods <= 0) return;
    u.ejectionCount = Math.max(0, u.ejectionCount - periods);
    this.lastChange.set(u, since + periods * this.config.baseEjectionMs);
  }

  private eject(u: Upstream): void {
    u.ejectionCount += 1;
    u.ejectionsTotal += 1;
    const duration = Math.min(this.config.baseEjectionMs * u.ejectionCount, this.config.maxEjectionMs);
    const now = this.clock();
    u.ejectedUntil = now + duration;
    this.lastChange.set(u, u.ejectedUntil);
    // The ramp begins when the ejection ends (effectiveWeight holds it at its floor until then).
    u.startRamp(u.ejectedUntil);
    this.consecutive.set(u, 0);
    this.onEject(u, duration);
  }
}
