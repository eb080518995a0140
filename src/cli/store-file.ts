/**
 * How `velo logs` and `velo events` find the log store: `--db FILE`, else `access_log.store.path`
 * of the config `velo start` would read (`-c FILE`, `$VELO_CONFIG`, `./velo.config.yaml`). They
 * read the file directly, so they work whether velo is running or not.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { LogReader } from '../store/log-reader.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

/** Flags shared by the store commands. */
export interface StoreFlags {
  config?: string;
  db?: string;
}

/** Opens the store read-only; throws a `CliError` saying where it looked. */
export async function openStore(flags: StoreFlags, env: NodeJS.ProcessEnv = process.env): Promise<LogReader> {
  let path = flags.db;
  if (path === undefined) {
    let config;
    try {
      config = await loadConfig({ file: flags.config, env });
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`cannot find the log store: ${err.message.split('\n').join(' ')}`, ExitCode.Usage);
      throw err;
    }
    path = config.accessLog.store?.path;
    const where = config.source ?? 'the defaults (no config file found)';
    if (path === undefined) throw new CliError(`no log store: access_log.store is not set in ${where} (pass --db FILE; velo demo's store is ${join(tmpdir(), 'velo-demo-logs.db')})`, ExitCode.Usage);
  }
  try {
    return new LogReader(path);
  } catch (err) {
    throw new CliError(`cannot open the log store ${path}: ${(err as Error).message}`, ExitCode.Failure);
  }
}
