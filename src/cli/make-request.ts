/**
 * `velo make-request [-c N] [-n N | -d 10s] [--url U] [--method M] [--json]`: loads the
 * balancer and reports the distribution per backend, status codes, req/s, p50/p90/p99 and
 * `Success: N, Fails: M`; exits 1 when any request failed, 3 when the URL cannot be reached.
 * The distribution is the admin API's per-backend request counts read before and after the
 * run, so it works with any backend; without the admin API, the `X-Backend` header's.
 */
import type { Command } from 'commander';
import type * as hdr from 'hdr-histogram-js';
import { parseDuration } from '../config/parse-duration.js';
import { AdminClient, CliError, runCli, throwOnUsageError } from './admin-client.js';
import { ExitCode } from './exit-codes.js';
import { LOOKUP_HELP, listenTarget } from './find-velo.js';
import { formatTable } from './format-table.js';
import { runLoad, type LoadPlan, type LoadProgress, type LoadResult } from './load-generator.js';

interface MakeRequestFlags {
  config?: string;
  admin?: string;
  concurrency: string;
  requests?: string;
  duration?: string;
  url?: string;
  method: string;
  timeout: string;
  json?: boolean;
}

function positiveInt(flag: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new CliError(`${flag} must be an integer from 1 to ${max}, got "${raw}"`, ExitCode.Usage);
  return Number(raw);
}

function durationMs(flag: string, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) throw new CliError(`${flag} must be a duration like 10s, 500ms or 1m, got "${raw}"`, ExitCode.Usage);
  return ms;
}

/** Turns the flags into a load plan for `url`, or throws a usage `CliError` naming the bad flag. */
export function parsePlan(flags: MakeRequestFlags, url: URL): LoadPlan {
  if (flags.requests !== undefined && flags.duration !== undefined) throw new CliError('give either -n (a count) or -d (a duration), not both', ExitCode.Usage);
  if (!/^[A-Za-z]+$/.test(flags.method)) throw new CliError(`--method must be an HTTP method like GET or POST, got "${flags.method}"`, ExitCode.Usage);
  const plan: LoadPlan = {
    url,
    method: flags.method.toUpperCase(),
    concurrency: positiveInt('-c', flags.concurrency, 10_000),
    timeoutMs: durationMs('--timeout', flags.timeout),
  };
  if (flags.duration !== undefined) plan.durationMs = durationMs('-d', flags.duration);
  else plan.count = positiveInt('-n', flags.requests ?? '100', 100_000_000);
  return plan;
}

/** Microseconds below 1 ms, milliseconds below 1 s, else seconds. */
export function formatLatency(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

function progressBar(plan: LoadPlan): (read: () => LoadProgress) => () => void {
  return (read) => {
    const draw = (): void => {
      const { done, elapsedMs } = read();
      const fraction = plan.count !== undefined ? done / plan.count : elapsedMs / plan.durationMs!;
      const filled = Math.round(Math.min(1, fraction) * 30);
      const rps = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${Math.floor(Math.min(1, fraction) * 100)}%  ${done} done  ${rps} req/s\x1b[K`);
    };
    const timer = setInterval(draw, 100);
    return () => {
      clearInterval(timer);
      process.stderr.write('\r\x1b[K');
    };
  };
}

function percent(n: number, total: number): string {
  return total > 0 ? `${((n / total) * 100).toFixed(1)}%` : '-';
}

/**
 * Percentiles that never exceed the maximum: hdr-histogram answers a percentile with the
 * highest value of its bucket (up to 0.1% above any value recorded in it at 3 significant
 * digits), while `maxValue` is the value recorded, so on a short run p99 lands in the max's
 * bucket and came out above max.
 */
export function latencySummary(h: hdr.Histogram): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const max = h.maxValue;
  const at = (p: number): number => Math.min(max, h.getValueAtPercentile(p));
  return { p50: at(50), p90: at(90), p99: at(99), max, mean: Math.round(h.mean) };
}

/** Where the distribution came from: the admin API's counts, or the X-Backend header (with why). */
export interface Distribution {
  source: 'admin' | 'x-backend';
  /** Why the admin API's counts were not used; set only for `x-backend`. */
  note?: string;
  backends: Map<string, number>;
}

/** The report as JSON-ready data (latencies in microseconds). */
export function reportData(plan: LoadPlan, r: LoadResult, dist: Distribution = { source: 'x-backend', backends: r.backends }) {
  const h = r.latencyUs;
  const empty = h.totalCount === 0;
  return {
    url: plan.url.href,
    method: plan.method,
    concurrency: plan.concurrency,
    requests: r.success + r.fails,
    elapsedMs: Math.round(r.elapsedMs * 100) / 100,
    rps: r.elapsedMs > 0 ? Math.round(((r.success + r.fails) / r.elapsedMs) * 1000 * 10) / 10 : 0,
    success: r.success,
    fails: r.fails,
    distributionSource: dist.source,
    ...(dist.note === undefined ? {} : { distributionNote: dist.note }),
    backends: Object.fromEntries([...dist.backends].sort(([a], [b]) => a.localeCompare(b))),
    statusCodes: Object.fromEntries([...r.statusCodes].sort(([a], [b]) => a - b)),
    errors: Object.fromEntries(r.errors),
    latencyUs: empty ? null : latencySummary(h),
  };
}

interface MetricsReply {
  takenAt?: string;
  listen?: { port: number };
  backends: Array<{ pool: string; name: string; requests: number }>;
}

/** Per-backend request counts, or why they cannot be used. */
type Counts = { counts: Map<string, number>; at: number } | { why: string };

const FRESH_COUNTS_WAIT_MS = 3000;

/** Reads the admin API's per-backend counts; `notBefore` (wall ms) waits for a snapshot taken after it. */
async function backendCounts(admin: AdminClient, url: URL, notBefore?: number): Promise<Counts> {
  const deadline = Date.now() + FRESH_COUNTS_WAIT_MS;
  for (;;) {
    let m: MetricsReply;
    try {
      m = await admin.call<MetricsReply>('GET', '/api/metrics');
    } catch (err) {
      return { why: `admin API unreachable: ${(err as Error).message.replace(/ \(is velo running\?.*$/, ')')}` };
    }
    if (!Array.isArray(m.backends)) return { why: 'the admin API did not answer with per-backend counts' };
    // An admin API of another velo (or of another port) would report someone else's traffic.
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (m.listen !== undefined && m.listen.port !== port) return { why: `the admin API (${(await admin.target()).source}) serves the velo on port ${m.listen.port}, not ${port}` };
    const taken = m.takenAt === undefined ? Date.now() : Date.parse(m.takenAt);
    if (notBefore !== undefined && taken < notBefore && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const pools = new Set(m.backends.map((b) => b.pool));
    const counts = new Map<string, number>();
    for (const b of m.backends) counts.set(pools.size > 1 ? `${b.pool}/${b.name}` : b.name, b.requests);
    return { counts, at: taken };
  }
}

async function distribution(admin: AdminClient, url: URL, before: Counts, result: LoadResult): Promise<Distribution> {
  const fallback = (why: string): Distribution => ({ source: 'x-backend', note: why, backends: result.backends });
  if ('why' in before) return fallback(before.why);
  const after = await backendCounts(admin, url, Date.now());
  if ('why' in after) return fallback(after.why);
  const backends = new Map<string, number>();
  for (const [name, n] of after.counts) {
    const delta = n - (before.counts.get(name) ?? 0);
    if (delta > 0) backends.set(name, delta);
  }
  return { source: 'admin', backends };
}

/** The human-readable report, ending with `Success: N, Fails: M`. */
export function formatReport(data: ReturnType<typeof reportData>): string {
  const lines = [`${data.method} ${data.url}: ${data.requests} requests in ${(data.elapsedMs / 1000).toFixed(3)} s, ${data.rps} req/s (concurrency ${data.concurrency})`];
  const total = data.requests;
  const backendTotal = Object.values(data.backends).reduce((sum, n) => sum + n, 0);
  const backendRows = Object.entries(data.backends).map(([name, n]) => [name, String(n), percent(n, backendTotal)]);
  const from = data.distributionSource === 'admin' ? 'requests each backend got during the run, from the admin API' : `X-Backend header; ${data.distributionNote ?? 'admin API not used'}`;
  if (backendRows.length > 0) lines.push('', `Distribution by backend (${from}):`, ...formatTable(backendRows, '  '));
  const statusRows = Object.entries(data.statusCodes).map(([code, n]) => [code, String(n), percent(n, total)]);
  if (statusRows.length > 0) lines.push('', 'Status codes:', ...formatTable(statusRows, '  '));
  const errorRows = Object.entries(data.errors).map(([code, n]) => [code, String(n), percent(n, total)]);
  if (errorRows.length > 0) lines.push('', 'Errors:', ...formatTable(errorRows, '  '));
  if (data.latencyUs !== null) {
    const l = data.latencyUs;
    const rows = [['p50', formatLatency(l.p50)], ['p90', formatLatency(l.p90)], ['p99', formatLatency(l.p99)], ['max', formatLatency(l.max)]];
    lines.push('', 'Latency:', ...formatTable(rows, '  '));
  }
  lines.push('', `Success: ${data.success}, Fails: ${data.fails}`);
  return lines.join('\n') + '\n';
}

/** Adds `velo make-request`. */
export function registerMakeRequestCommand(program: Command): void {
  throwOnUsageError(program.command('make-request'))
    .description('send load through the balancer and report distribution, status codes, req/s and latency')
    .option('-c, --concurrency <n>', 'requests in flight at once', '10')
    .option('-n, --requests <n>', 'number of requests (default 100)')
    .option('-d, --duration <time>', 'run for this long instead of a count, e.g. 10s')
    .option('--url <url>', 'URL to load (default: $VELO_URL, else the listen address from the config; see below)')
    .option('--config <file>', 'config file to read the listen and admin addresses from (-c is --concurrency here)')
    .option('--admin <url>', 'admin API to read per-backend counts from (default: $VELO_ADMIN, else from the config)')
    .option('-m, --method <method>', 'HTTP method', 'GET')
    .option('--timeout <time>', 'per-request timeout', '30s')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exits 1 when any request failed (a 5xx or a connection error), so scripts can rely on it;
against \`velo demo\`, whose b3 fails on purpose, some failures are expected.

The distribution by backend is the admin API's per-backend request counts, read before and
after the run (so it includes retries and any other traffic during the run); when the admin
API cannot be reached it falls back to the X-Backend header and says so.
${LOOKUP_HELP}

Examples:
  velo make-request -c 100 -n 1000
  velo make-request -c 20 -d 10s --url http://127.0.0.1:8080/api
  velo make-request -n 500 --json | jq .backends`,
    )
    .action((flags: MakeRequestFlags) =>
      runCli(async () => {
        const target = await listenTarget(flags);
        const plan = parsePlan(flags, target.url);
        const admin = AdminClient.fromOptions({ admin: flags.admin, config: flags.config });
        try {
          const before = await backendCounts(admin, plan.url);
          const result = await runLoad(plan, process.stderr.isTTY ? progressBar(plan) : undefined);
          if (result.unreachable !== undefined) {
            throw new CliError(`cannot reach ${plan.url.origin}: ${result.unreachable} (${target.source}; is velo running? pass --url URL or --config FILE, or set $VELO_URL)`, ExitCode.Unreachable);
          }
          const dist = await distribution(admin, plan.url, before, result);
          const data = reportData(plan, result, dist);
          process.stdout.write(flags.json ? JSON.stringify(data, null, 2) + '\n' : formatReport(data));
          return data.fails > 0 ? ExitCode.Failure : ExitCode.Ok;
        } finally {
          await admin.close();
        }
      }),
    );
}
