import { isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/** Picks an eligible backend at random with probability proportional to its effective weight, using only `ctx.random`. */
export class RandomChoice implements Strategy {
  readonly name = 'random';

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    const eligible: Balanceable[] = [];
    const weights: number[] = [];
    let total = 0;
    for (const u of upstreams) {
      if (!isEligible(u, ctx)) continue;
      const weight = Math.max(0, u.effectiveWeight(ctx.now));
      eligible.push(u);
      weights.push(weight);
      total += weight;
    }
    if (eligible.length <= 1) return eligible[0];
    if (!(total > 0)) return eligible[Math.min(eligible.length - 1, Math.floor(ctx.random() * eligible.length))];
    let r = ctx.random() * total;
    for (let i = 0; i < eligible.length; i++) {
      r -= weights[i];
      if (r < 0) return eligible[i];
    }
    return eligible[eligible.length - 1];
  }
}
