import { inFlightEverywhere, isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/**
 * Power of two random choices: samples two distinct eligible backends with `ctx.random` and
 * returns the one with fewer in-flight requests per unit of effective weight (the first sampled on a tie).
 * Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (2001).
 */
export class PowerOfTwo implements Strategy {
  readonly name = 'power-of-two';

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    const eligible = upstreams.filter((u) => isEligible(u, ctx));
    const n = eligible.length;
    if (n <= 1) return eligible[0];
    const i = Math.min(n - 1, Math.floor(ctx.random() * n));
    let j = Math.min(n - 2, Math.floor(ctx.random() * (n - 1)));
    if (j >= i) j += 1;
    const first = eligible[i];
    const second = eligible[j];
    return load(second, ctx.now) < load(first, ctx.now) ? second : first;
  }
}

function load(u: Balanceable, now: number): number {
  const weight = u.effectiveWeight(now);
  return weight > 0 ? inFlightEverywhere(u) / weight : Infinity;
}
