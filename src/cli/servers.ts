/**
 * `velo servers add|remove|drain|undrain|disable|enable URL` and `velo servers weight URL N`:
 * hot backend changes through the admin API of a running velo (the same operations as the
 * dashboard's keys). The pool is `--pool`, else the only pool, else `default`.
 */
import type { Command } from 'commander';
import { AdminClient, adminOption, CliError, runCli, throwOnUsageError } from './admin-client.js';
import { ExitCode } from './exit-codes.js';

interface ServerFlags {
  admin?: string;
  pool?: string;
  weight?: string;
}

interface BackendReply {
  backend: { id: string; name: string; weight: number; inFlight: number; state: string };
}

function parseWeight(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw new CliError(`--weight must be an integer from 1 to 1000, got "${raw}"`, ExitCode.Usage);
  return Number(raw);
}

function backendPath(pool: string, ref: string, action = ''): string {
  return `/api/pools/${encodeURIComponent(pool)}/backends/${encodeURIComponent(ref)}${action}`;
}

type Action = (client: AdminClient, pool: string, url: string, weight: number | undefined) => Promise<string>;

const ACTIONS: Record<'add' | 'remove' | 'drain' | 'undrain' | 'disable' | 'enable', { summary: string; run: Action }> = {
  add: {
    summary: 'add a backend to a pool',
    run: async (client, pool, url, weight) => {
      const r = await client.call<BackendReply>('POST', `/api/pools/${encodeURIComponent(pool)}/backends`, { url, weight });
      return `added ${r.backend.id} to pool ${pool} (weight ${r.backend.weight})`;
    },
  },
  remove: {
    summary: 'drain a backend, then forget it',
    run: async (client, pool, url) => {
      const r = await client.call<{ removed: { id: string; inFlight: number } }>('DELETE', backendPath(pool, url));
      return `removed ${r.removed.id} from pool ${pool} (${r.removed.inFlight} in flight finishing)`;
    },
  },
  drain: {
    summary: 'stop sending new requests to a backend; in-flight ones finish',
    run: async (client, pool, url) => {
      const r = await client.call<BackendReply>('POST', backendPath(pool, url, '/drain'));
      return `draining ${r.backend.id} in pool ${pool} (${r.backend.inFlight} in flight)`;
    },
  },
  undrain: {
    summary: 'put a drained backend back into rotation',
    run: async (client, pool, url) => {
      const r = await client.call<BackendReply>('POST', backendPath(pool, url, '/undrain'));
      return `${r.backend.id} in pool ${pool} takes requests again (state ${r.backend.state})`;
    },
  },
  disable: {
    summary: 'put a backend in maintenance: no requests at all (sticky and panic included), health checks continue',
    run: async (client, pool, url) => {
      const r = await client.call<BackendReply>('POST', backendPath(pool, url, '/disable'));
      return `${r.backend.id} in pool ${pool} is in maintenance (${r.backend.inFlight} in flight finishing)`;
    },
  },
  enable: {
    summary: 'take a backend out of maintenance',
    run: async (client, pool, url) => {
      const r = await client.call<BackendReply>('POST', backendPath(pool, url, '/enable'));
      return `${r.backend.id} in pool ${pool} is out of maintenance (state ${r.backend.state})`;
    },
  },
};

/** `velo servers weight URL N`: the weight must be an integer from 1 to 1000 (exit 2 otherwise). */
function registerWeight(servers: Command): void {
  throwOnUsageError(adminOption(servers.command('weight <url> <weight>')))
    .description('set a backend\'s weight at runtime (1 to 1000)')
    .option('--pool <name>', 'pool to change (default: the pool holding the backend, else the only pool, else "default")')
    .addHelpText('after', '\nExample:\n  velo servers weight http://127.0.0.1:8082 5 --pool default')
    .action((url: string, raw: string, flags: ServerFlags) =>
      runCli(async () => {
        if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw new CliError(`weight must be an integer from 1 to 1000, got "${raw}"`, ExitCode.Usage);
        const client = AdminClient.fromOptions(flags);
        try {
          const pool = await client.poolName(flags.pool, url);
          const r = await client.call<BackendReply & { previous: number }>('PUT', backendPath(pool, url, '/weight'), { weight: Number(raw) });
          process.stdout.write(`weight of ${r.backend.id} in pool ${pool}: ${r.backend.weight}${r.previous === r.backend.weight ? ' (unchanged)' : ` (was ${r.previous})`}\n`);
        } finally {
          await client.close();
        }
      }),
    );
}

/** Adds `velo servers` and its four subcommands. */
export function registerServersCommand(program: Command): void {
  const servers = throwOnUsageError(program.command('servers'))
    .description('add, remove, drain, weigh or disable backends of a running velo')
    .addHelpText(
      'after',
      `
Examples:
  velo servers add http://127.0.0.1:8083 --weight 2
  velo servers drain http://127.0.0.1:8081 --pool api
  velo servers undrain 127.0.0.1:8081
  velo servers weight http://127.0.0.1:8082 5
  velo servers disable http://127.0.0.1:8081
  velo servers enable http://127.0.0.1:8081
  velo servers remove http://127.0.0.1:8081`,
    );
  registerWeight(servers);
  for (const [name, action] of Object.entries(ACTIONS)) {
    const sub = throwOnUsageError(adminOption(servers.command(`${name} <url>`)))
      .description(`${action.summary} (${name === 'add' ? 'its URL' : 'URL, backend name or host:port'})`)
      .option('--pool <name>', 'pool to change (default: the pool holding the backend, else the only pool, else "default")');
    if (name === 'add') sub.option('--weight <n>', 'weight from 1 to 1000 (default 1)');
    sub
      .addHelpText('after', `\nExample:\n  velo servers ${name} http://127.0.0.1:8083${name === 'add' ? ' --weight 2' : ''} --pool default`)
      .action((url: string, flags: ServerFlags) =>
        runCli(async () => {
          const weight = parseWeight(flags.weight);
          const client = AdminClient.fromOptions(flags);
          try {
            const pool = await client.poolName(flags.pool, name === 'add' ? undefined : url);
            process.stdout.write((await action.run(client, pool, url, weight)) + '\n');
          } finally {
            await client.close();
          }
        }),
      );
  }
}
