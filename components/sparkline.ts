/** One-line charts of recent values drawn with the eight Unicode block heights, and the smoothing they use. */

const BARS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` of `values` as bars scaled to `max` (default: their own maximum), left-padded
 * with spaces while the history is shorter than `width`; non-finite values count as zero.
 */
export function sparkline(values: readonly number[], width: number, max?: number): string {
  if (width <= 0) return '';
  const recent = values.slice(-width).map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const top = max !== undefined && max > 0 ? max : Math.max(0, ...recent);
  const bars = recent.map((v) => (top <= 0 || v <= 0 ? BARS[0] : BARS[Math.min(7, Math.max(0, Math.ceil((v / top) * 8) - 1))]));
  return bars.join('').padStart(width);
}

/** Each value replaced by the mean of it and the `window - 1` before it: per-tick rates become rates over `window` ticks. */
export function movingAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += Number.isFinite(values[i]) ? values[i]! : 0;
    if (i >= window) sum -= Number.isFinite(values[i - window]) ? values[i - window]! : 0;
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}
