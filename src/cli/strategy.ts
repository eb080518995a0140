/** `velo strategy NAME [--pool P]`: switches a running pool's balancing algorithm. */
import type { Command } from 'commander';
import { AdminClient, adminOption, runCli, throwOnUsageError } from './admin-client.js';

/** Adds `velo strategy`. */
export function registerStrategyCommand(program: Command): void {
  throwOnUsageError(adminOption(program.command('strategy <name>')))
    .description('switch the balancing algorithm of a running pool')
    .option('--pool <name>', 'pool to change (default: the only pool, else "default")')
    .addHelpText(
      'after',
      `
Strategies: round-robin (rr), weighted-round-robin (wrr), least-connections (lc), random,
ip-hash, url-hash, power-of-two (p2c), least-latency (ewma).

Examples:
  velo strategy least-connections
  velo strategy p2c --pool api`,
    )
    .action((name: string, flags: { admin?: string; pool?: string }) =>
      runCli(async () => {
        const client = AdminClient.fromOptions(flags);
        try {
          const pool = await client.poolName(flags.pool);
          const r = await client.call<{ strategy: string; previous: string }>('PUT', `/api/pools/${encodeURIComponent(pool)}/strategy`, { strategy: name });
          process.stdout.write(`pool ${pool}: strategy ${r.strategy}${r.previous === r.strategy ? ' (unchanged)' : ` (was ${r.previous})`}\n`);
        } finally {
          await client.close();
        }
      }),
    );
}
