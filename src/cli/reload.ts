/** `velo reload`: makes a running velo re-read its config file; a bad file keeps the old config. */
import type { Command } from 'commander';
import { AdminClient, adminOption, runCli, throwOnUsageError } from './admin-client.js';

interface ReloadReply {
  pools: number;
  added: number;
  removed: number;
  kept: number;
  /** Absent from a velo older than the runtime overlay. */
  runtime?: { kept: string[]; overridden: string[] };
}

/** Adds `velo reload`; a rejected file prints every problem and exits 2. */
export function registerReloadCommand(program: Command): void {
  throwOnUsageError(adminOption(program.command('reload')))
    .description('re-read the config file of a running velo (a bad file keeps the running config)')
    .option('--workers', 'instead, replace the forwarding workers one at a time (picks up a new build; no connection refused)')
    .addHelpText(
      'after',
      `
Examples:
  velo reload
  velo reload --workers
  velo reload --admin http://127.0.0.1:9091`,
    )
    .action((flags: { admin?: string; workers?: boolean }) =>
      runCli(async () => {
        const client = AdminClient.fromOptions(flags);
        try {
          if (flags.workers === true) {
            const r = await client.call<{ replaced: number; workers: Array<{ id: number; pid: number }> }>('POST', '/api/workers/restart');
            process.stdout.write(`replaced ${r.replaced} worker${r.replaced === 1 ? '' : 's'}: now ${r.workers.map((w) => `#${w.id} (pid ${w.pid})`).join(', ')}\n`);
            return;
          }
          const r = await client.call<ReloadReply>('POST', '/api/reload');
          const lines = [`reloaded: ${r.pools} pool${r.pools === 1 ? '' : 's'}, +${r.added} -${r.removed} backends, ${r.kept} kept`];
          for (const line of [...(r.runtime?.kept ?? []), ...(r.runtime?.overridden ?? [])]) lines.push(`  ${line}`);
          process.stdout.write(lines.join('\n') + '\n');
        } finally {
          await client.close();
        }
      }),
    );
}
