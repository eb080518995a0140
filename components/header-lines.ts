/**
 * The header's facts as segments (version, listen address, pool, strategy, uptime, req/s,
 * error rate, backends available), packed into as few lines as the terminal's width allows.
 */
import type { EngineSnapshot, PoolSnapshot } from '../src/metrics/snapshot.js';
import { formatCount, formatPercent, formatUptime } from './format-units.js';

/** One fact of the header: a dim label, a styled value and a plain suffix. */
export interface Segment {
  label?: string;
  value: string;
  suffix?: string;
  color?: string;
}

/** What stands between two segments on a header line. */
export const SEPARATOR = ' │ ';

/** The header's segments for `pool` (the one shown) of `snapshot`, in reading order; `rates` are the smoothed totals. */
export function headerSegments(
  snapshot: EngineSnapshot,
  pool: PoolSnapshot | undefined,
  poolIndex: number,
  rates: { rps: number; errorRate: number } = snapshot.totals,
): Segment[] {
  const { listen } = snapshot;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const pools = snapshot.pools.length;
  const up = pool?.healthyCount ?? 0;
  const count = pool?.backends.length ?? 0;
  const segments: Segment[] = [
    { value: `velo ${snapshot.version}`, color: 'cyanBright' },
    { label: 'listening ', value: `${listen.tls ? 'https' : 'http'}://${host}:${listen.port}` },
    { label: 'pool ', value: pool?.name ?? '(none)', suffix: pools > 1 ? ` ${poolIndex + 1}/${pools}` : '' },
    { label: 'strategy ', value: pool?.strategy ?? '-', color: 'yellowBright' },
    { label: 'up ', value: formatUptime(snapshot.uptimeMs) },
    { value: formatCount(rates.rps), suffix: ' req/s', color: 'whiteBright' },
    { value: formatPercent(rates.errorRate), suffix: ' errors', color: rates.errorRate >= 0.01 ? 'redBright' : 'green' },
    { value: `${up}/${count}`, suffix: ' available', color: up === count && count > 0 ? 'green' : up === 0 ? 'redBright' : 'yellow' },
  ];
  if (snapshot.runtimeChanges > 0) segments.push({ value: String(snapshot.runtimeChanges), suffix: ' not in file', color: 'yellow' });
  if (snapshot.shuttingDown) segments.push({ value: 'shutting down', color: 'redBright' });
  return segments;
}

/** Length of a segment as drawn. */
export function segmentWidth(s: Segment): number {
  return (s.label?.length ?? 0) + s.value.length + (s.suffix?.length ?? 0);
}

/** Greedily packs `segments` into lines no wider than `width` (a segment wider than that gets a line of its own). */
export function packSegments(segments: readonly Segment[], width: number): Segment[][] {
  const lines: Segment[][] = [];
  let line: Segment[] = [];
  let used = 0;
  for (const s of segments) {
    const w = segmentWidth(s);
    if (line.length > 0 && used + SEPARATOR.length + w > width) {
      lines.push(line);
      line = [];
      used = 0;
    }
    used += (line.length > 0 ? SEPARATOR.length : 0) + w;
    line.push(s);
  }
  if (line.length > 0) lines.push(line);
  return lines;
}
