/**
 * `velo config diff` and `velo config save`: the runtime changes of a running velo that are not
 * in its config file, and writing them into it (comments and formatting kept).
 */
import type { Command } from 'commander';
import { AdminClient, adminOption, runCli, throwOnUsageError } from './admin-client.js';

interface DiffReply {
  file: string | null;
  count: number;
  changes: Array<{ pool: string; backend: string | null; field: string; runtime: unknown; file: unknown; change: string }>;
}

/** The diff as lines: a header, then one line per change with the file's value. */
export function formatDiff(d: DiffReply): string {
  // Environment variables and flags also apply over the file; they are not runtime changes.
  if (d.count === 0) return `no runtime changes: nothing changed at runtime differs from ${d.file ?? 'the config'} (environment variables and flags given at start still apply over it)\n`;
  const lines = [`${d.count} runtime change${d.count === 1 ? '' : 's'} not in ${d.file ?? 'a config file'}:`];
  for (const c of d.changes) lines.push(`  ${c.change}${c.field === 'listed' ? '' : ` (file: ${c.file === null ? 'not listed' : String(c.file)})`}`);
  return lines.join('\n') + '\n';
}

/** Adds `velo config diff` and `velo config save`. */
export function registerConfigCommand(program: Command): void {
  const config = throwOnUsageError(program.command('config'))
    .description('runtime changes of a running velo not in its config file: list them, or write them into it')
    .addHelpText('after', '\nExamples:\n  velo config diff\n  velo config save');
  throwOnUsageError(adminOption(config.command('diff')))
    .description('list the runtime changes (add, remove, weight, strategy, drain, maintenance) not in the config file')
    .option('--json', 'print the admin API answer as JSON')
    .action((flags: { admin?: string; json?: boolean }) =>
      runCli(async () => {
        const client = AdminClient.fromOptions(flags);
        try {
          const d = await client.call<DiffReply>('GET', '/api/config/diff');
          process.stdout.write(flags.json ? JSON.stringify(d, null, 2) + '\n' : formatDiff(d));
        } finally {
          await client.close();
        }
      }),
    );
  throwOnUsageError(adminOption(config.command('save')))
    .description('write the runtime changes into the config file, keeping its comments and formatting')
    .action((flags: { admin?: string }) =>
      runCli(async () => {
        const client = AdminClient.fromOptions(flags);
        try {
          const r = await client.call<{ file: string; saved: number; changes: string[] }>('POST', '/api/config/save');
          if (r.saved === 0) process.stdout.write(`nothing to save: ${r.file} already holds the running config\n`);
          else process.stdout.write([`saved ${r.saved} runtime change${r.saved === 1 ? '' : 's'} to ${r.file}:`, ...r.changes.map((c) => `  ${c}`)].join('\n') + '\n');
        } finally {
          await client.close();
        }
      }),
    );
}
