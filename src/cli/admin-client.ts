/**
 * How the CLI subcommands talk to a running velo: the admin address and token found by
 * find-velo.ts, and one request helper that turns every failure into a one-line `CliError`
 * with the right exit code and the address it tried.
 */
import type { Command } from 'commander';
import { Agent, errors, request } from 'undici';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { adminTarget, LOOKUP_HELP, parseHttpUrl, type Target } from './find-velo.js';

export { CliError };

/** The admin address used when no flag, variable or config file says otherwise. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8407';

const CONNECT_TIMEOUT_MS = 3000;
const RESPONSE_TIMEOUT_MS = 10_000;

/** Parses an admin address; `host:port` without a scheme means http. Throws a usage `CliError`. */
export function parseAdminUrl(raw: string, source: string): URL {
  return parseHttpUrl(raw, source, DEFAULT_ADMIN_URL);
}

/**
 * Makes commander throw a subcommand's parse errors up to `main` (exit 2) instead of exiting 1
 * itself: `main` sets `exitOverride` only after the subcommands exist, and they do not inherit it.
 */
export function throwOnUsageError(command: Command): Command {
  return command.exitOverride();
}

/** Adds the `--admin URL` and `-c FILE` options every admin subcommand takes, and the lookup order to its help. */
export function adminOption(command: Command): Command {
  return command
    .option('--admin <url>', 'admin API address (default: $VELO_ADMIN, else from the config; see below)')
    .option('-c, --config <file>', 'config file to read the admin address from (default: $VELO_CONFIG, then ./velo.config.yaml)')
    .addHelpText('after', LOOKUP_HELP);
}

function connectFailure(err: unknown): string | undefined {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection closed';
  if (err instanceof errors.ConnectTimeoutError) return `no connection within ${CONNECT_TIMEOUT_MS / 1000}s`;
  if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) return `no answer within ${RESPONSE_TIMEOUT_MS / 1000}s`;
  return code;
}

/** A client for one admin API; `close()` releases its connections. */
export class AdminClient {
  private readonly agent = new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS }, headersTimeout: RESPONSE_TIMEOUT_MS, bodyTimeout: RESPONSE_TIMEOUT_MS });
  private readonly found: Promise<Target>;

  /** A client for `base` with `token`, or for the target a lookup will find (see `fromOptions`). */
  constructor(base: URL | Promise<Target>, token?: string) {
    this.found = base instanceof URL ? Promise.resolve({ url: base, source: `admin ${base.host}`, token }) : base;
    // Rejections surface on the first call, not as an unhandled rejection.
    this.found.catch(() => {});
  }

  /**
   * The client for `--admin`, `$VELO_ADMIN` or the config lookup (find-velo.ts); the lookup
   * runs on the first call, so a bad flag or file is reported like any other failure.
   */
  static fromOptions(flags: { admin?: string; config?: string }, env: NodeJS.ProcessEnv = process.env): AdminClient {
    return new AdminClient(adminTarget(flags, env));
  }

  /** The admin address and where it came from. */
  target(): Promise<Target> {
    return this.found;
  }

  /** Sends one request and resolves to the JSON body of a 2xx answer; anything else throws a `CliError`. */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const target = await this.found;
    const url = new URL(path, target.url);
    const where = `the velo admin API (${target.source})`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const res = await request(url, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: this.agent });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const why = connectFailure(err) ?? (err instanceof Error ? err.message : String(err));
      throw new CliError(`cannot reach ${where}: ${why} (is velo running? pass --admin URL or -c FILE, or set $VELO_ADMIN)`, ExitCode.Unreachable);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new CliError(`${url.origin} answered ${status} without JSON: is it a velo admin API? (${target.source}; pass --admin URL or set $VELO_ADMIN)`, ExitCode.Unreachable);
    }
    const message = typeof parsed.error === 'string' ? parsed.error : `HTTP ${status}`;
    if (status === 401) {
      const hint = target.token === undefined ? 'set $VELO_ADMIN_TOKEN' : 'check $VELO_ADMIN_TOKEN';
      throw new CliError(`${where} refused the request: ${message} (${hint})`, ExitCode.Unreachable);
    }
    if (status >= 400) throw new CliError(message, status === 400 ? ExitCode.Usage : ExitCode.Failure, parsed);
    return parsed as T;
  }

  /**
   * The pool an operation applies to: `--pool`, else the one pool holding `backendRef` (a URL,
   * host:port or backend name), else the only pool, else one named `default`. Anything else is
   * ambiguous: a usage error (exit 2) naming the pools and `--pool`.
   */
  async poolName(flag: string | undefined, backendRef?: string): Promise<string> {
    if (flag !== undefined) return flag;
    const { pools } = await this.call<{ pools: Array<{ name: string; backends?: Array<{ id: string; name: string; url: string }> }> }>('GET', '/api/pools');
    if (backendRef !== undefined) {
      const ref = backendRef.trim().toLowerCase().replace(/\/+$/, '');
      const holds = pools.filter((p) =>
        (p.backends ?? []).some((b) => [b.id, b.name, b.url, hostPortOf(b.url)].some((v) => v !== undefined && v.toLowerCase().replace(/\/+$/, '') === ref)),
      );
      if (holds.length === 1) return holds[0]!.name;
      if (holds.length > 1) throw new CliError(`"${backendRef}" is in several pools (${holds.map((p) => p.name).join(', ')}): pass --pool NAME`, ExitCode.Usage);
    }
    if (pools.length === 1) return pools[0]!.name;
    if (pools.some((p) => p.name === 'default')) return 'default';
    throw new CliError(`velo has several pools (${pools.map((p) => p.name).join(', ')}): pass --pool NAME`, ExitCode.Usage);
  }

  /** Releases the client's connections so the process can exit at once. */
  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }
}

/** Runs a subcommand's body; a `CliError` or any other failure becomes one stderr line and an exit code. */
export async function runCli(body: () => Promise<ExitCode | void>): Promise<void> {
  try {
    const code = await body();
    if (code !== undefined) process.exitCode = code;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`velo: ${message}\n`);
    if (err instanceof CliError && err.details !== undefined) {
      for (const line of detailLines(err.details)) process.stderr.write(`  ${line}\n`);
    }
    process.exitCode = err instanceof CliError ? err.exitCode : ExitCode.Failure;
  }
}

function detailLines(details: Record<string, unknown>): string[] {
  const issues = details.issues;
  if (!Array.isArray(issues)) return [];
  return issues.map((i: { path?: string; line?: number | null; column?: number | null; message?: string; hint?: string | null }) => {
    const where = i.line != null ? `${i.line}:${i.column ?? 1} ` : '';
    return `${where}${i.path ?? ''}: ${i.message ?? ''}${i.hint ? ` (${i.hint})` : ''}`;
  });
}

/** `host:port` of a backend URL, or undefined when it does not parse. */
function hostPortOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
