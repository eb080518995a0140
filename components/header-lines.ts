/**
 * The header's facts as segments (version, listen address, pool, strategy, uptime, req/s,
 * error rate, backends available), packed into as few lines as the terminal's width allows.
 */
import { isAbsolute, relative } from 'node:path';
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
  const pools = snapshot.pools.length;
  const up = pool?.healthyCount ?? 0;
  const count = pool?.backends.length ?? 0;
  const segments: Segment[] = [
    { value: `velo ${snapshot.version}`, color: 'cyanBright' },
    { label: 'listening ', value: `${listen.tls ? 'https' : 'http'}://${hostPort(listen.host, listen.port)}`, suffix: listen.http2 !== undefined ? ` +${listen.http2}` : '' },
    { label: 'pool ', value: pool?.name ?? '(none)', suffix: pools > 1 ? ` ${poolIndex + 1}/${pools}` : '' },
    { label: 'strategy ', value: pool?.strategy ?? '-', color: 'yellowBright' },
    { label: 'up ', value: formatUptime(snapshot.uptimeMs) },
    ...workersSegment(snapshot),
    { value: formatCount(rates.rps), suffix: ' req/s', color: 'whiteBright' },
    { value: formatPercent(rates.errorRate), suffix: ' errors', color: rates.errorRate >= 0.01 ? 'redBright' : 'green' },
    { value: `${up}/${count}`, suffix: ' available', color: up === count && count > 0 ? 'green' : up === 0 ? 'redBright' : 'yellow' },
  ];
  const changes = snapshot.runtimeChanges;
  if (changes !== undefined && changes > 0) segments.push({ value: String(changes), suffix: ' not in file', color: 'yellow' });
  segments.push({ label: 'config ', value: configLabel(snapshot.configSource) });
  segments.push({ label: 'admin ', value: snapshot.admin ? `http://${hostPort(snapshot.admin.host, snapshot.admin.port)}` : 'off' });
  if (snapshot.shuttingDown) segments.push({ value: 'shutting down', color: 'redBright' });
  return segments;
}

/** `2 workers` (and how many were restarted after dying) when velo forwards in several processes. */
function workersSegment(snapshot: EngineSnapshot): Segment[] {
  const w = snapshot.workers;
  if (w === undefined) return [];
  const restarted = w.restarts > 0 ? `, ${w.restarts} restarted` : '';
  return [{ value: String(w.count), suffix: ` workers${restarted}`, color: w.restarts > 0 ? 'yellow' : undefined }];
}

/** `host:port`, an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The config file as the header names it: relative to the working directory when inside it. */
export function configLabel(source: string | undefined, cwd = process.cwd()): string {
  if (source === undefined) return 'none (built in)';
  const rel = relative(cwd, source);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : source;
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
