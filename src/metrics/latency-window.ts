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

  /** p50/p99 in ms (nearest rank) of the samples recorded in the last `windowMs`; zeros when there are none. */
  summarize(windowMs: number): LatencySummary {
    const since = this.clock() - windowMs;
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.times[i]! >= since) scratch[n++] = this.values[i]!;
    }
    if (n === 0) return { p50: 0, p99: 0, count: 0 };
    // Selection, not a sort: the sampler needs two ranks per backend every tick, and sorting a
    // full window (an array and a comparator, up to 2048 samples per backend) held the event
    // loop for about a millisecond per tick, visible in the proxy's p99 (docs/performance.md).
    const k99 = rankOf(n, 0.99);
    const p99 = selectRank(scratch, k99, 0, n - 1);
    // Everything left of k99 is now <= p99, so the median is among those.
    return { p50: selectRank(scratch, rankOf(n, 0.5), 0, k99), p99, count: n };
  }
}

/** summarize()'s working copy of one window's recent samples (the sampler is synchronous). */
const scratch = new Float64Array(CAPACITY);

/** Nearest-rank index of quantile `q` among `n` ascending values. */
function rankOf(n: number, q: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}

/**
 * Returns the `k`-th smallest of `a[lo..hi]` (inclusive) and leaves `a` partitioned around it:
 * nothing before index k is larger, nothing after is smaller (Hoare's quickselect, median of
 * three; a range that does not shrink in 64 rounds is sorted instead, so it is never quadratic).
 */
function selectRank(a: Float64Array, k: number, lo: number, hi: number): number {
  for (let rounds = 0; hi > lo; rounds++) {
    if (rounds === 64) {
      a.subarray(lo, hi + 1).sort();
      break;
    }
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
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
