/**
 * Chooses the pool for a request: an exact `match.host` beats a `*.example.com` wildcard, which
 * beats a pool without a host (port ignored, as nginx orders server names); among those, the
 * longest matching `path_prefix` wins; ties go to the pool listed first. No match: undefined (404).
 */
import type { Pool } from '../upstream/pool.js';

/** Lower-cased host of a Host header without its port; IPv6 without brackets, as config stores it. */
export function hostWithoutPort(host: string | undefined): string {
  if (host === undefined || host === '') return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h.slice(1) : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

export class Router {
  constructor(private pools: readonly Pool[]) {}

  setPools(pools: readonly Pool[]): void {
    this.pools = pools;
  }

  match(hostHeader: string | undefined, path: string): Pool | undefined {
    const host = hostWithoutPort(hostHeader);
    let best: Pool | undefined;
    let bestScore = -1;
    for (const pool of this.pools) {
      const m = pool.config.match;
      if (m.host !== undefined && !hostMatches(m.host, host)) continue;
      const prefix = m.pathPrefix ?? '';
      if (!path.startsWith(prefix)) continue;
      // Host matches outrank any path match; then the longer prefix wins.
      const hostScore = m.host === undefined ? 0 : m.host.startsWith('*.') ? 1_000_000 : 2_000_000;
      const score = hostScore + prefix.length;
      if (score > bestScore) {
        best = pool;
        bestScore = score;
      }
    }
    return best;
  }
}
