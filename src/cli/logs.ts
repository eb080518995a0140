/**
 * `velo logs [filters] [--json] [--follow]` and `velo logs stats --by backend,status`: the
 * stored access log, read from the store file directly (store-file.ts). A table by default,
 * JSON lines (the objects of `GET /api/logs`) with `--json`; `--follow` keeps printing new rows.
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { FilterError, parseLogFilter, type LogFilter } from '../store/log-filter.js';
import type { LogReader, StoredRequest } from '../store/log-reader.js';
import { parseStatsKeys, type GroupStats } from '../store/stats.js';
import { runCli } from './admin-client.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { colour, colourEnabled, formatTable } from './format-table.js';
import { LOOKUP_HELP } from './find-velo.js';
import { openStore, type StoreFlags } from './store-file.js';

/** How often `--follow` looks for new rows; ms. */
const FOLLOW_EVERY_MS = 500;

export interface LogsFlags extends StoreFlags {
  since?: string;
  until?: string;
  status?: string;
  backend?: string;
  pool?: string;
  path?: string;
  method?: string;
  flag?: string;
  slower?: string;
  client?: string;
  limit?: string;
  json?: boolean;
  follow?: boolean;
  by?: string;
}

/** The filter of the flags; a bad one is a usage error. */
export function logFilterOf(flags: LogsFlags, now: number): LogFilter {
  const { since, until, status, backend, pool, path, method, flag, slower, client, limit } = flags;
  try {
    return parseLogFilter({ since, until, status, backend, pool, path, method, flag, slower, client, limit }, now);
  } catch (err) {
    if (err instanceof FilterError) throw new CliError(`--${err.message}`, ExitCode.Usage);
    throw err;
  }
}

/** Table lines of requests (oldest first). */
export function requestTable(rows: readonly StoredRequest[], useColour: boolean): string[] {
  const head = ['TIME', 'STATUS', 'METHOD', 'PATH', 'BACKEND', 'TOTAL', 'FLAG', 'CLIENT'];
  return formatTable([
    head,
    ...rows.map((r) => [
      r.time,
      colour(String(r.status), r.status >= 500 ? 'red' : r.status >= 400 ? 'yellow' : 'green', useColour),
      r.method,
      r.path,
      r.backend_name ?? r.backend ?? '-',
      `${r.total_ms}ms`,
      r.termination,
      r.client_ip,
    ]),
  ]);
}

/** Table lines of stats groups. */
export function statsTable(groups: readonly GroupStats[], by: readonly string[]): string[] {
  return formatTable([
    [...by.map((k) => k.toUpperCase()), 'COUNT', 'ERRORS', 'P50', 'P90', 'P99'],
    ...groups.map((g) => [...by.map((k) => String(g.key[k] ?? '-')), String(g.count), `${(g.error_rate * 100).toFixed(1)}%`, `${g.p50_ms}ms`, `${g.p90_ms}ms`, `${g.p99_ms}ms`]),
  ]);
}

/** Prints the last `limit` matching rows (oldest first), then with `follow` new ones until `stop` aborts. */
export async function printLogs(reader: LogReader, flags: LogsFlags, write: (s: string) => void, opts: { now?: number; stop?: AbortSignal } = {}): Promise<number> {
  const filter = logFilterOf(flags, opts.now ?? Date.now());
  const rows = reader.requests(filter).items.reverse();
  const useColour = !flags.json && colourEnabled();
  const print = (batch: StoredRequest[], header: boolean): void => {
    if (flags.json) for (const r of batch) write(JSON.stringify(r) + '\n');
    else if (batch.length > 0) for (const line of requestTable(batch, useColour).slice(header ? 0 : 1)) write(line + '\n');
  };
  print(rows, true);
  let last = rows.at(-1)?.id ?? reader.requests({ ...filter, limit: 1 }).items[0]?.id ?? 0;
  while (flags.follow && opts.stop?.aborted !== true) {
    await sleep(FOLLOW_EVERY_MS, undefined, { signal: opts.stop }).catch(() => undefined);
    const fresh = reader.requests({ ...filter, until: undefined, beforeId: undefined, afterId: last, limit: 1000 }).items;
    if (fresh.length > 0) last = fresh.at(-1)!.id;
    print(fresh, false);
  }
  return rows.length;
}

async function runLogs(flags: LogsFlags): Promise<void> {
  const reader = await openStore(flags);
  try {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    await printLogs(reader, flags, (s) => process.stdout.write(s), { stop: stop.signal });
  } finally {
    reader.close();
  }
}

async function runStats(flags: LogsFlags): Promise<void> {
  const by = parseStatsKeys(flags.by);
  if (typeof by === 'string') throw new CliError(`--${by}`, ExitCode.Usage);
  const filter = logFilterOf(flags, Date.now());
  const reader = await openStore(flags);
  try {
    const groups = reader.stats(filter, by);
    if (flags.json) for (const g of groups) process.stdout.write(JSON.stringify(g) + '\n');
    else for (const line of statsTable(groups, by)) process.stdout.write(line + '\n');
  } finally {
    reader.close();
  }
}

function filterOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file whose access_log.store to read (default: $VELO_CONFIG, then ./velo.config.yaml)')
    .option('--db <file>', 'the store file itself, instead of the config lookup')
    .option('--since <when>', 'from this long ago (10m, 2h, 1d) or an ISO time')
    .option('--until <when>', 'up to this long ago or an ISO time')
    .option('--status <s>', 'a status (502) or a class (5xx)')
    .option('--backend <name>', 'a backend, by name or URL')
    .option('--pool <name>', 'a pool')
    .option('--path <glob>', "a path; * matches anything ('/api/*')")
    .option('--method <m>', 'an HTTP method')
    .option('--flag <f>', 'a termination flag (UF, UT, UC, UH, RL, ...; - for normal)')
    .option('--slower <duration>', 'total time above this (500ms, 2s)')
    .option('--client <ip>', 'a client IP')
    .option('--json', 'JSON lines instead of a table');
}

export function registerLogsCommand(program: Command): void {
  const logs = filterOptions(program.command('logs').description('the stored access log (access_log.store), newest last'))
    .option('--limit <n>', 'at most this many rows (default 100)')
    .option('-f, --follow', 'keep printing new records until Ctrl-C')
    .addHelpText(
      'after',
      `
Examples:
  velo logs --since 10m --status 5xx
  velo logs --backend b2 --path '/api/*' --slower 500ms --json
  velo logs --follow
  velo logs stats --by backend,status --since 1h
${LOOKUP_HELP.replace('Finding velo', 'Finding the store (access_log.store.path)')}`,
    )
    .action((flags: LogsFlags) => runCli(() => runLogs(flags)));
  filterOptions(logs.command('stats').description('count, error rate and p50/p90/p99 latency per group'))
    .option('--by <keys>', 'group by: backend, status, pool, method, path, flag, client (comma-separated; default backend)')
    // `velo logs stats --db F`: commander hands options the parent also has to the parent.
    .action((_flags: LogsFlags, cmd: Command) => runCli(() => runStats(cmd.optsWithGlobals<LogsFlags>())));
}
