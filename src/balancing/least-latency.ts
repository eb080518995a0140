import { inFlightEverywhere, isEligible, type Balanceable, type PickContext, type Strategy } from './strategy.js';

/**
 * Peak-EWMA balancing (Finagle's PeakEwma balancer): picks the lowest
 * latencyEwmaMs * (inFlight + 1) / effectiveWeight (so weights and slow start count), ties
 * broken with `ctx.random`. The latency estimate decays between samples and is dropped once
 * stale (see `PeakEwma`), so a backend that was slow once is probed again by real traffic.
 * A backend without a (fresh) estimate is costed at the median estimate of the others, or at
 * 1 ms when none has one, so it gets traffic without being flooded and in-flight counts still.
 */
export class LeastLatency implements Strategy {
  readonly name = 'least-latency';

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    const eligible: Balanceable[] = [];
    const latencies: Array<number | undefined> = [];
    const sampled: number[] = [];
    for (const u of upstreams) {
      if (!isEligible(u, ctx)) continue;
      const latency = u.latencyEwmaMs(ctx.now);
      eligible.push(u);
      latencies.push(latency);
      if (latency !== undefined) sampled.push(latency);
    }
    if (eligible.length <= 1) return eligible[0];
    const unsampledLatency = median(sampled);
    let bestCost = Infinity;
    let tied: Balanceable[] = [];
    for (let i = 0; i < eligible.length; i++) {
      const cost = ((latencies[i] ?? unsampledLatency) * (inFlightEverywhere(eligible[i]) + 1)) / eligible[i].effectiveWeight(ctx.now);
      if (cost < bestCost) {
        bestCost = cost;
        tied = [eligible[i]];
      } else if (cost === bestCost) {
        tied.push(eligible[i]);
      }
    }
    if (tied.length <= 1) return tied[0] ?? eligible[0];
    return tied[Math.min(tied.length - 1, Math.floor(ctx.random() * tied.length))];
  }
}

function median(values: number[]): number {
  if (values.length === 0) return 1;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
