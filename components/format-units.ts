/**
 * How the dashboard writes numbers: short, fixed-width friendly, with the unit implied by
 * the column title.
 */

/** Uptime as `42s`, `3m05s`, `2h03m` or `3d04h`. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** A rate or count in at most 6 characters: `0`, `4.5`, `213`, `12.3k`, `4.1M`. */
export function formatCount(n: number, decimals = 1): string {
  if (!Number.isFinite(n) || n <= 0) return '0';
  if (n < 10 && decimals > 0) return n.toFixed(decimals).replace(/\.0+$/, '');
  if (n < 10_000) return String(Math.round(n));
  if (n < 10_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Milliseconds in at most 6 characters, `-` when there is no sample: `0.42`, `12.3`, `250`, `12.5s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '-';
  if (ms < 1) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1).replace(/\.0$/, '');
  if (ms < 10_000) return String(Math.round(ms));
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A fraction as a percentage: `0%`, `0.4%`, `12%`. */
export function formatPercent(fraction: number): string {
  const p = Number.isFinite(fraction) ? Math.max(0, fraction) * 100 : 0;
  if (p === 0) return '0%';
  return p < 10 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

/** Local wall-clock time as HH:MM:SS. */
export function formatClock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `text` cut or padded with spaces to exactly `width` characters, aligned left or right. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? text.slice(0, 1) : `${text.slice(0, width - 1)}…`;
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}
