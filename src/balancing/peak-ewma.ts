/**
 * Peak-sensitive exponentially weighted moving average of response time: a slower sample
 * takes effect at once, faster samples pull the value down with time constant `decayMs`.
 * As in Finagle's and Linkerd's peak-EWMA balancers (https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/).
 */
export class PeakEwma {
  private current: number | undefined;
  private lastUpdateMs = 0;

  constructor(private readonly decayMs = 10_000) {}

  /** Records one round-trip time observed at `now` (ms). */
  observe(rttMs: number, now: number): void {
    if (this.current === undefined || rttMs > this.current) {
      this.current = rttMs;
    } else {
      const elapsed = Math.max(0, now - this.lastUpdateMs);
      const w = Math.exp(-elapsed / this.decayMs);
      this.current = this.current * w + rttMs * (1 - w);
    }
    this.lastUpdateMs = now;
  }

  /** The estimate as of the last sample, or undefined before the first one. */
  value(_now: number): number | undefined {
    return this.current;
  }

  /** Forgets every sample, so `value` is undefined again (a backend returning to service). */
  reset(): void {
    this.current = undefined;
    this.lastUpdateMs = 0;
  }
}
