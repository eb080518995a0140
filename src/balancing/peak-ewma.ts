/**
 * Peak-sensitive exponentially weighted moving average of response time, in ms, with time
 * constant `decayMs` (Finagle's PeakEwma, `finagle-core/.../loadbalancer/PeakEwma.scala`;
 * Linkerd's write-up: https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/).
 *
 * - A sample slower than the estimate takes effect at once (the peak); a faster one pulls it
 *   down with weight `1 - exp(-elapsed / decayMs)`, elapsed being the time since the last sample
 *   (an unevenly spaced series, Eckner's "Algorithms for Unevenly Spaced Time Series").
 * - Between samples the estimate decays toward zero: `value(now) = estimate *
 *   exp(-(now - lastSample) / decayMs)`. Finagle does the same by observing a zero-latency
 *   sample on every read; here reads are pure. So a backend that was slow once and then got no
 *   traffic becomes cheap again, instead of keeping its worst latency for ever.
 * - Evidence older than `staleAfterMs` (two decay windows by default, when the decayed value is
 *   below 14% of the sample) is not trusted at all: `value` is undefined, as before the first
 *   sample, and the next sample starts afresh. The balancer then costs the backend like a new
 *   one, so real traffic probes it again.
 */
export class PeakEwma {
  private current: number | undefined;
  private lastUpdateMs = 0;

  /**
   * @param decayMs time constant of the average and of the decay between samples (ms, > 0).
   * @param staleAfterMs age of the last sample (ms) after which the estimate is dropped.
   */
  constructor(
    private readonly decayMs = 10_000,
    private readonly staleAfterMs = 2 * decayMs,
  ) {}

  /** Records one round-trip time `rttMs` (ms) observed at `now` (ms, the engine's clock). */
  observe(rttMs: number, now: number): void {
    if (this.current === undefined || this.isStale(now) || rttMs > this.current) {
      this.current = rttMs;
    } else {
      const w = Math.exp(-this.elapsed(now) / this.decayMs);
      this.current = this.current * w + rttMs * (1 - w);
    }
    this.lastUpdateMs = now;
  }

  /**
   * The estimate in ms as of `now`, decayed since the last sample; undefined before the first
   * sample, after `reset`, and once the last sample is `staleAfterMs` old.
   */
  value(now: number): number | undefined {
    if (this.current === undefined || this.isStale(now)) return undefined;
    return this.current * Math.exp(-this.elapsed(now) / this.decayMs);
  }

  /** Forgets every sample, so `value` is undefined again (a backend returning to service). */
  reset(): void {
    this.current = undefined;
    this.lastUpdateMs = 0;
  }

  // A clock that steps backwards counts as no time passed: it must not amplify the estimate.
  private elapsed(now: number): number {
    return Math.max(0, now - this.lastUpdateMs);
  }

  private isStale(now: number): boolean {
    return this.elapsed(now) >= this.staleAfterMs;
  }
}
