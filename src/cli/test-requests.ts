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

/** Sends `count` GET requests to `url` (10 at a time) and tallies them per backend and status code. */
export async function runTestRequests(url: URL, count: number): Promise<TestRequestsResult> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_TEST_REQUESTS) {
    throw new Error(`the number of test requests must be a whole number from 1 to ${MAX_TEST_REQUESTS}, got ${count}`);
  }
  const result = await runLoad({ url, method: 'GET', concurrency: CONCURRENCY, count, timeoutMs: TIMEOUT_MS });
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
