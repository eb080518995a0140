/**
 * The dashboard's `t` key: `velo make-request -n N` against this very balancer, run on the
 * proxy's thread with the same load generator, summed up as plain data that can cross to the
 * dashboard's worker thread.
 */
import type { TestRequestsResult } from '../../components/store.js';
import { runLoad } from './load-generator.js';

/** Most requests one press of `t` may send. */
export const MAX_TEST_REQUESTS = 100_000;
const CONCURRENCY = 10;
const TIMEOUT_MS = 10_000;

/** The address clients reach a listener on: a wildcard host becomes loopback. */
export function reachableUrl(listen: { host: string; port: number; tls: boolean }): URL {
  const host = listen.host === '0.0.0.0' || listen.host === '' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return new URL(`${listen.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}/`);
}

/**
 * Where test requests for a pool go: its `path_prefix` (else `/`) on the listener, with a Host
 * its `match.host` accepts (`*.example.com` becomes `test.example.com`), so the router picks
 * that pool rather than whichever matches `/`.
 */
export function poolTarget(listen: URL, match: { host?: string; pathPrefix?: string }): { url: URL; host?: string } {
  const url = new URL(match.pathPrefix ?? '/', listen);
  const host = match.host === undefined ? undefined : match.host.startsWith('*.') ? `test.${match.host.slice(2)}` : match.host;
  return { url, host };
}

/**
 * Where the balancer's own records of this run are tallied: `record` is called (by the caller's
 * request observer) for every finished request, and counts only those whose id starts with
 * `prefix`, the one the run's requests carry; `split` holds the count per backend name.
 */
export class TestRequestTally {
  readonly prefix = `velo-test-${Date.now().toString(36)}-`;
  readonly split = new Map<string, number>();
  record = (r: { id: string; backendName?: string }): void => {
    if (!r.id.startsWith(this.prefix) || r.backendName === undefined) return;
    this.split.set(r.backendName, (this.split.get(r.backendName) ?? 0) + 1);
  };
}

/**
 * Sends `count` GET requests (10 at a time) and tallies them per status code and per backend.
 * With `tally`, the split per backend is what velo itself recorded for these requests alone
 * (names as the dashboard shows them, any backend, other traffic left out); without, the
 * backends' X-Backend header (velo's test backend).
 */
export async function runTestRequests(url: URL, count: number, options: { host?: string; tally?: TestRequestTally } = {}): Promise<TestRequestsResult> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_TEST_REQUESTS) {
    throw new Error(`the number of test requests must be a whole number from 1 to ${MAX_TEST_REQUESTS}, got ${count}`);
  }
  const { tally } = options;
  const result = await runLoad({ url, host: options.host, requestIdPrefix: tally?.prefix, method: 'GET', concurrency: CONCURRENCY, count, timeoutMs: TIMEOUT_MS });
  if (tally !== undefined) result.backends = tally.split;
  if (result.unreachable !== undefined) throw new Error(`cannot reach ${url.origin}: ${result.unreachable}`);
  const sorted = <K>(map: Map<K, number>): Array<[K, number]> => [...map].sort((a, b) => b[1] - a[1]);
  const ms = (q: number): number => (result.latencyUs.totalCount > 0 ? result.latencyUs.getValueAtPercentile(q) / 1000 : 0);
  return {
    sent: result.sent,
    success: result.success,
    fails: result.fails,
    elapsedMs: Math.round(result.elapsedMs),
    backends: sorted(result.backends),
    codes: sorted(result.statusCodes),
    errors: sorted(result.errors),
    p50Ms: ms(50),
    p99Ms: ms(99),
  };
}
