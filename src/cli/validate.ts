/**
 * `velo validate [-c FILE]`: loads a config exactly as `velo start` would and reports whether
 * it is valid, without starting anything.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import { ExitCode } from './exit-codes.js';
import { displayPath } from './init.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Adds `velo validate`: prints `ok: FILE (N pools, M backends)` and exits 0, or prints every
 * problem (path, line:column, hint) to stderr and exits 2; never prints a stack trace.
 */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config file (same lookup as start: -c, $VELO_CONFIG, ./velo.config.yaml)')
    .option('-c, --config <file>', 'config file to check')
    .action(async function (this: Command) {
      const output = this.configureOutput();
      const writeOut = output.writeOut ?? ((s: string) => process.stdout.write(s));
      const writeErr = output.writeErr ?? ((s: string) => process.stderr.write(s));
      // optsWithGlobals: a root-level -c given before the subcommand counts too.
      const { config: file } = this.optsWithGlobals<{ config?: string }>();
      const found = await findConfigFile({ file });
      if (found === undefined) {
        writeErr('error: no config file to validate: pass -c FILE, set $VELO_CONFIG, or create ./velo.config.yaml with velo init\n');
        process.exitCode = ExitCode.Usage;
        return;
      }
      try {
        const config = await loadConfig({ file: found });
        const backends = config.pools.reduce((n, p) => n + p.backends.length, 0);
        writeOut(`ok: ${displayPath(found)} (${plural(config.pools.length, 'pool')}, ${plural(backends, 'backend')})\n`);
      } catch (err) {
        if (err instanceof ConfigError) {
          writeErr(`${err.message}\n`);
          process.exitCode = ExitCode.Usage;
        } else {
          writeErr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = ExitCode.Failure;
        }
      }
    });
}
