import { isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/** Cycles through backends in config order starting at the first, skipping ineligible ones, so N*k picks over N eligible backends give each exactly k. */
export class RoundRobin implements Strategy {
  readonly name = 'round-robin';
  private next = 0;

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    const n = upstreams.length;
    if (n === 0) return undefined;
    const start = this.next % n;
    for (let step = 0; step < n; step++) {
      const i = (start + step) % n;
      const u = upstreams[i];
      if (isEligible(u, ctx)) {
        this.next = (i + 1) % n;
        return u;
      }
    }
    return undefined;
  }
}
