/**
 * Recent response times of one backend in a fixed ring (no allocation per request), from which
 * the sampler reads percentiles over a sliding time window.
 */
const CAPACITY = 2048;

export interface LatencySummary {
  p50: number;
  p99: number;
  count: number;
}

export class LatencyWindow {
  private readonly values = new Float64Array(CAPACITY);
  private readonly times = new Float64Array(CAPACITY);
  private next = 0;
  private size = 0;

  constructor(private readonly clock: () => number) {}

  /** Records one response time; `at` lets a caller that already read the clock pass it in. */
  record(ms: number, at = this.clock()): void {
    this.values[this.next] = ms;
    this.times[this.next] = at;
    this.next = (this.next + 1) % CAPACITY;
    if (this.size < CAPACITY) this.size += 1;
  }

  /** Appends to `out` the samples (ms) recorded in the last `windowMs`; returns `out`. */
  collect(windowMs: number, out: number[] = []): number[] {
    const since = this.clock() - windowMs;
    for (let i = 0; i < this.size; i++) {
      if (this.times[i]! >= since) out.push(this.values[i]!);
    }
    return out;
  }

  /** p50/p99 in ms of the samples recorded in the last `windowMs`; zeros when there are none. */
  summarize(windowMs: number): LatencySummary {
    const recent = this.collect(windowMs);
    if (recent.length === 0) return { p50: 0, p99: 0, count: 0 };
    recent.sort((a, b) => a - b);
    return { p50: quantile(recent, 0.5), p99: quantile(recent, 0.99), count: recent.length };
  }
}

/** avg, p50 and p99 (ms, two decimals) of the recent samples of several windows; zeros when none. */
export function summarizeWindows(windows: Iterable<LatencyWindow>, windowMs: number): { avg: number; p50: number; p99: number; count: number } {
  const all: number[] = [];
  for (const w of windows) w.collect(windowMs, all);
  if (all.length === 0) return { avg: 0, p50: 0, p99: 0, count: 0 };
  all.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return { avg: round(all.reduce((sum, v) => sum + v, 0) / all.length), p50: round(quantile(all, 0.5)), p99: round(quantile(all, 0.99)), count: all.length };
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}
