import { isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/**
 * nginx's smooth weighted round robin: over any cycle of sum(weights) picks each eligible
 * backend is chosen exactly weight times, interleaved (5,1,1 gives a a b a c a a).
 */
export class WeightedRoundRobin implements Strategy {
  readonly name = 'weighted-round-robin';
  private readonly current = new Map<Balanceable, number>();
  private lastList: readonly Balanceable[] | undefined;
  private lastLength = 0;

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    if (
      upstreams !== this.lastList ||
      upstreams.length !== this.lastLength ||
      this.current.size > upstreams.length
    ) {
      this.prune(upstreams);
    }
    let best: Balanceable | undefined;
    let bestCurrent = -Infinity;
    let total = 0;
    for (const u of upstreams) {
      if (!isEligible(u, ctx)) continue;
      const weight = u.effectiveWeight(ctx.now);
      const current = (this.current.get(u) ?? 0) + weight;
      this.current.set(u, current);
      total += weight;
      if (best === undefined || current > bestCurrent) {
        best = u;
        bestCurrent = current;
      }
    }
    if (best !== undefined) this.current.set(best, bestCurrent - total);
    return best;
  }

  /** Number of backends whose smoothing state is held (for leak tests). */
  get trackedCount(): number {
    return this.current.size;
  }

  private prune(upstreams: readonly Balanceable[]): void {
    this.lastList = upstreams;
    this.lastLength = upstreams.length;
    if (this.current.size === 0) return;
    const live = new Set(upstreams);
    for (const u of this.current.keys()) if (!live.has(u)) this.current.delete(u);
  }
}
