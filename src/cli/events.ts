/**
 * `velo events [--since 1d] [--kind health|admin|reload] [--json]`: the audit trail of health
 * and breaker transitions, ejections, admin actions, reloads and restarts, from the log store.
 */
import type { Command } from 'commander';
import { FilterError, parseEventFilter } from '../store/log-filter.js';
import type { LogReader } from '../store/log-reader.js';
import { runCli } from './admin-client.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { formatTable } from './format-table.js';
import { openStore, type StoreFlags } from './store-file.js';

export interface EventsFlags extends StoreFlags {
  since?: string;
  until?: string;
  kind?: string;
  limit?: string;
  json?: boolean;
}

/** Prints the last matching events, oldest first; returns how many. */
export function printEvents(reader: LogReader, flags: EventsFlags, write: (s: string) => void, now = Date.now()): number {
  let filter;
  try {
    filter = parseEventFilter({ since: flags.since, until: flags.until, kind: flags.kind, limit: flags.limit }, now);
  } catch (err) {
    if (err instanceof FilterError) throw new CliError(`--${err.message}`, ExitCode.Usage);
    throw err;
  }
  const events = reader.events(filter).items.reverse();
  if (flags.json) for (const e of events) write(JSON.stringify(e) + '\n');
  else {
    const rows = [['TIME', 'KIND', 'LEVEL', 'MESSAGE'], ...events.map((e) => [e.at, e.kind, e.level, e.message])];
    for (const line of formatTable(rows)) write(line + '\n');
  }
  return events.length;
}

export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('the stored event history (access_log.store): health, breakers, admin actions, reloads')
    .option('-c, --config <file>', 'config file whose access_log.store to read (default: $VELO_CONFIG, then ./velo.config.yaml)')
    .option('--db <file>', 'the store file itself, instead of the config lookup')
    .option('--since <when>', 'from this long ago (1d, 2h) or an ISO time')
    .option('--until <when>', 'up to this long ago or an ISO time')
    .option('--kind <kinds>', 'health, circuit, admin, reload, lifecycle, outlier, error, cluster (comma-separated)')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--json', 'JSON lines instead of a table')
    .addHelpText('after', '\nExamples:\n  velo events --since 1d --kind admin,reload\n')
    .action((flags: EventsFlags) =>
      runCli(async () => {
        const reader = await openStore(flags);
        try {
          printEvents(reader, flags, (s) => process.stdout.write(s));
        } finally {
          reader.close();
        }
      }),
    );
}
