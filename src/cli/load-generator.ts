/**
 * The engine of `velo make-request`: N concurrent loops over one undici keep-alive pool, each
 * response tallied by status and by the backend named in its `X-Backend` header, latencies in
 * an HDR histogram (microseconds).
 */
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

/** What to send and for how long: `count` requests, or as many as fit in `durationMs`. */
export interface LoadPlan {
  url: URL;
  /** Host header to send instead of the URL's (to reach a pool matched by host). */
  host?: string;
  /** When set, each request carries `X-Request-Id: <prefix><n>`, so the balancer's own records can be told apart. */
  requestIdPrefix?: string;
  method: string;
  concurrency: number;
  count?: number;
  durationMs?: number;
  timeoutMs: number;
}

/** Everything measured; `unreachable` is set when the first requests could not connect at all. */
export interface LoadResult {
  elapsedMs: number;
  sent: number;
  success: number;
  fails: number;
  backends: Map<string, number>;
  statusCodes: Map<number, number>;
  errors: Map<string, number>;
  latencyUs: hdr.Histogram;
  unreachable?: string;
}

/** Progress as the run goes, for the progress bar. */
export interface LoadProgress {
  done: number;
  elapsedMs: number;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const MAX_TRACKABLE_US = 3_600_000_000;

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; name?: string };
  return e.code ?? e.cause?.code ?? e.name ?? 'error';
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Runs `plan` and resolves when the last request has ended; `onProgress` reads live counts. */
export async function runLoad(plan: LoadPlan, onProgress?: (read: () => LoadProgress) => () => void): Promise<LoadResult> {
  let sequence = 0;
  const pool = new Pool(plan.url.origin, {
    connections: plan.concurrency,
    pipelining: 1,
    connect: { timeout: plan.timeoutMs },
    headersTimeout: plan.timeoutMs,
    bodyTimeout: plan.timeoutMs,
  });
  const result: LoadResult = {
    elapsedMs: 0,
    sent: 0,
    success: 0,
    fails: 0,
    backends: new Map(),
    statusCodes: new Map(),
    errors: new Map(),
    latencyUs: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKABLE_US, numberOfSignificantValueDigits: 3 }),
  };
  const path = plan.url.pathname + plan.url.search;
  const started = performance.now();
  const deadline = plan.durationMs !== undefined ? started + plan.durationMs : Infinity;
  let answered = 0;
  let stopped = false;
  const more = (): boolean => !stopped && (plan.count !== undefined ? result.sent < plan.count : performance.now() < deadline);
  const stopProgress = onProgress?.(() => ({ done: result.success + result.fails, elapsedMs: performance.now() - started }));

  const loop = async (): Promise<void> => {
    while (more()) {
      result.sent += 1;
      const t0 = performance.now();
      try {
        const headers: Record<string, string> = { 'user-agent': 'velo-make-request' };
        if (plan.host !== undefined) headers.host = plan.host;
        if (plan.requestIdPrefix !== undefined) headers['x-request-id'] = `${plan.requestIdPrefix}${(sequence += 1)}`;
        const res = await pool.request({ path, method: plan.method, headers });
        await res.body.dump();
        answered += 1;
        result.latencyUs.recordValue(Math.min(MAX_TRACKABLE_US, Math.max(1, Math.round((performance.now() - t0) * 1000))));
        const backend = res.headers['x-backend'];
        bump(result.backends, typeof backend === 'string' && backend !== '' ? backend : 'unknown');
        bump(result.statusCodes, res.statusCode);
        if (res.statusCode < 400) result.success += 1;
        else result.fails += 1;
      } catch (err) {
        result.fails += 1;
        const code = errorCode(err);
        bump(result.errors, code);
        if (answered === 0 && CONNECT_ERRORS.has(code)) {
          result.unreachable ??= code;
          stopped = true;
        }
      }
    }
  };
  const loops = Math.max(1, Math.min(plan.concurrency, plan.count ?? plan.concurrency));
  try {
    await Promise.all(Array.from({ length: loops }, loop));
  } finally {
    result.elapsedMs = performance.now() - started;
    stopProgress?.();
    await pool.destroy().catch(() => {});
  }
  if (answered > 0) result.unreachable = undefined;
  return result;
}
