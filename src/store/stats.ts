/**
 * `velo logs stats --by backend,status`: requests per group with their error rate and latency
 * percentiles, computed from the stored rows (exact percentiles, nearest-rank).
 */

/** What a group may be keyed by; `backend` is the backend's name (its URL when it has none). */
export const STATS_KEYS = ['backend', 'status', 'pool', 'method', 'path', 'flag', 'client'] as const;
export type StatsKey = (typeof STATS_KEYS)[number];

/** One group: its key values, `count`, `error_rate` (share of 5xx, 0..1) and total-time percentiles in ms. */
export interface GroupStats {
  key: Record<string, string | number | null>;
  count: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
}

const COLUMN: Readonly<Record<StatsKey, (r: Record<string, string | number | null>) => string | number | null>> = {
  backend: (r) => r.backend_name ?? r.backend ?? null,
  status: (r) => r.status ?? null,
  pool: (r) => r.pool ?? null,
  method: (r) => r.method ?? null,
  path: (r) => r.path ?? null,
  flag: (r) => r.termination ?? null,
  client: (r) => r.client_ip ?? null,
};

/** The keys of `--by a,b` (comma-separated), or an error message naming the bad one. */
export function parseStatsKeys(raw: string | undefined): StatsKey[] | string {
  const keys = (raw ?? 'backend').split(',').map((k) => k.trim()).filter((k) => k !== '');
  const bad = keys.find((k) => !STATS_KEYS.includes(k as StatsKey));
  if (bad !== undefined || keys.length === 0) return `by must be one or more of ${STATS_KEYS.join(', ')}, got "${bad ?? raw}"`;
  return keys as StatsKey[];
}

/** Nearest-rank percentile `q` (0..1) of ascending `sorted`. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Groups `rows` (columns of `requests` with `total_ms`) by `by`; groups in descending count. */
export function groupStats(rows: Iterable<Record<string, string | number | null>>, by: readonly StatsKey[]): GroupStats[] {
  const groups = new Map<string, { key: GroupStats['key']; times: number[]; errors: number }>();
  for (const r of rows) {
    const values = by.map((k) => COLUMN[k](r));
    const id = JSON.stringify(values);
    let g = groups.get(id);
    if (g === undefined) {
      g = { key: Object.fromEntries(by.map((k, i) => [k, values[i]!])), times: [], errors: 0 };
      groups.set(id, g);
    }
    g.times.push(r.total_ms as number);
    if ((r.status as number) >= 500) g.errors += 1;
  }
  return [...groups.values()]
    .map((g) => {
      const sorted = g.times.sort((a, b) => a - b);
      return {
        key: g.key,
        count: sorted.length,
        errors: g.errors,
        error_rate: g.errors / sorted.length,
        p50_ms: percentile(sorted, 0.5),
        p90_ms: percentile(sorted, 0.9),
        p99_ms: percentile(sorted, 0.99),
      };
    })
    .sort((a, b) => b.count - a.count || JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
}
