/**
 * `velo make-request [-c N] [-n N | -d 10s] [--url U] [--method M] [--json]`: loads the
 * balancer and reports the distribution per backend, status codes, req/s, p50/p90/p99 and
 * `Success: N, Fails: M`; exits 1 when any request failed, 3 when the URL cannot be reached.
 */
import type { Command } from 'commander';
import { parseDuration } from '../config/parse-duration.js';
import { CliError, runCli, throwOnUsageError } from './admin-client.js';
import { ExitCode } from './exit-codes.js';
import { formatTable } from './format-table.js';
import { runLoad, type LoadPlan, type LoadProgress, type LoadResult } from './load-generator.js';

/** The URL loaded when neither `--url` nor `$VELO_URL` is given. */
export const DEFAULT_TARGET_URL = 'http://127.0.0.1:8080/';

interface MakeRequestFlags {
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

/** Turns the flags into a load plan, or throws a usage `CliError` naming the bad flag. */
export function parsePlan(flags: MakeRequestFlags, env: NodeJS.ProcessEnv = process.env): LoadPlan {
  if (flags.requests !== undefined && flags.duration !== undefined) throw new CliError('give either -n (a count) or -d (a duration), not both', ExitCode.Usage);
  const rawUrl = flags.url ?? (env.VELO_URL !== undefined && env.VELO_URL !== '' ? env.VELO_URL : DEFAULT_TARGET_URL);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new CliError(`--url must be an http URL like ${DEFAULT_TARGET_URL}, got "${rawUrl}"`, ExitCode.Usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--url must be an http or https URL, got "${rawUrl}"`, ExitCode.Usage);
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

/** The report as JSON-ready data (latencies in microseconds). */
export function reportData(plan: LoadPlan, r: LoadResult) {
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
    backends: Object.fromEntries([...r.backends].sort(([a], [b]) => a.localeCompare(b))),
    statusCodes: Object.fromEntries([...r.statusCodes].sort(([a], [b]) => a - b)),
    errors: Object.fromEntries(r.errors),
    latencyUs: empty ? null : { p50: h.getValueAtPercentile(50), p90: h.getValueAtPercentile(90), p99: h.getValueAtPercentile(99), max: h.maxValue, mean: Math.round(h.mean) },
  };
}

/** The human-readable report, ending with `Success: N, Fails: M`. */
export function formatReport(data: ReturnType<typeof reportData>): string {
  const lines = [`${data.method} ${data.url}: ${data.requests} requests in ${(data.elapsedMs / 1000).toFixed(3)} s, ${data.rps} req/s (concurrency ${data.concurrency})`];
  const total = data.requests;
  const backendRows = Object.entries(data.backends).map(([name, n]) => [name, String(n), percent(n, total)]);
  if (backendRows.length > 0) lines.push('', 'Distribution by backend:', ...formatTable(backendRows, '  '));
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
    .option('--url <url>', `URL to load (default: $VELO_URL or ${DEFAULT_TARGET_URL})`)
    .option('-m, --method <method>', 'HTTP method', 'GET')
    .option('--timeout <time>', 'per-request timeout', '30s')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exits 1 when any request failed (a 5xx or a connection error), so scripts can rely on it;
against \`velo demo\`, whose b3 fails on purpose, some failures are expected.

Examples:
  velo make-request -c 100 -n 1000
  velo make-request -c 20 -d 10s --url http://127.0.0.1:8080/api
  velo make-request -n 500 --json | jq .backends`,
    )
    .action((flags: MakeRequestFlags) =>
      runCli(async () => {
        const plan = parsePlan(flags);
        const result = await runLoad(plan, process.stderr.isTTY ? progressBar(plan) : undefined);
        if (result.unreachable !== undefined) {
          throw new CliError(`cannot reach ${plan.url.origin}: ${result.unreachable} (is velo running? set --url or $VELO_URL)`, ExitCode.Unreachable);
        }
        const data = reportData(plan, result);
        process.stdout.write(flags.json ? JSON.stringify(data, null, 2) + '\n' : formatReport(data));
        return data.fails > 0 ? ExitCode.Failure : ExitCode.Ok;
      }),
    );
}
