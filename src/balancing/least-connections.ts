import { inFlightEverywhere, isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/** Picks the eligible backend with the lowest inFlight / effectiveWeight, rotating through ties so idle backends share sequential picks evenly. */
export class LeastConnections implements Strategy {
  readonly name = 'least-connections';
  private rotation = 0;

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    let bestLoad = Infinity;
    let tied: Balanceable[] = [];
    for (const u of upstreams) {
      if (!isEligible(u, ctx)) continue;
      const weight = u.effectiveWeight(ctx.now);
      const load = weight > 0 ? inFlightEverywhere(u) / weight : Infinity;
      if (load < bestLoad) {
        bestLoad = load;
        tied = [u];
      } else if (load === bestLoad) {
        tied.push(u);
      }
    }
    if (tied.length === 0) return undefined;
    const chosen = tied[this.rotation % tied.length];
    this.rotation = (this.rotation + 1) % Number.MAX_SAFE_INTEGER;
    return chosen;
  }
}
