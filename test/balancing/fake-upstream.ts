import type { Balanceable, PickContext } from '../../src/balancing/strategy.js';

/** A Balanceable whose every input a strategy reads is a plain settable field. */
export class FakeUpstream implements Balanceable {
  inFlight = 0;
  weight: number;
  available = true;
  latencyMs: number | undefined;
  /** Overrides effectiveWeight (slow start); undefined means `weight`. */
  rampedWeight: number | undefined;

  constructor(
    readonly id: string,
    opts: { weight?: number; inFlight?: number; available?: boolean; latencyMs?: number } = {},
  ) {
    this.weight = opts.weight ?? 1;
    this.inFlight = opts.inFlight ?? 0;
    this.available = opts.available ?? true;
    this.latencyMs = opts.latencyMs;
  }

  effectiveWeight(_now: number): number {
    return this.rampedWeight ?? this.weight;
  }

  isAvailable(): boolean {
    return this.available;
  }

  latencyEwmaMs(_now: number): number | undefined {
    return this.latencyMs;
  }
}

/** Backends named by `ids`, each with weight 1 and nothing in flight. */
export function fakes(...ids: string[]): FakeUpstream[] {
  return ids.map((id) => new FakeUpstream(id));
}

/** mulberry32: a deterministic uniform [0, 1) source for exact tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source that returns `values` in order and fails the test if it runs out. */
export function scriptedRandom(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error(`scriptedRandom exhausted after ${values.length} values`);
    return values[i++];
  };
}

/** A PickContext with harmless defaults, overridden by `partial`. */
export function ctx(partial: Partial<PickContext> = {}): PickContext {
  return { clientIp: '127.0.0.1', url: '/', now: 0, random: seededRandom(1), ...partial };
}

/** Counts picks (backends or their ids) per id; `undefined` results are counted under the empty string. */
export function tally(picks: ReadonlyArray<{ readonly id: string } | string | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of picks) {
    const key = typeof p === 'string' ? p : (p?.id ?? '');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
