/**
 * `velo validate [FILE | -c FILE]`: loads a config exactly as `velo start` would and reports
 * whether it is valid, without starting anything. A `.json` file must be strict JSON.
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
    .description('check a config file (FILE, else the lookup of start: -c, $VELO_CONFIG, ./velo.config.yaml)')
    .argument('[file]', 'config file to check (.yaml, .yml or .json)')
    .option('-c, --config <file>', 'config file to check (same as FILE)')
    .addHelpText(
      'after',
      `
Examples:
  velo validate
  velo validate staging.yaml
  velo init velo.json && velo validate velo.json`,
    )
    .action(async function (this: Command, positional: string | undefined) {
      const output = this.configureOutput();
      const writeOut = output.writeOut ?? ((s: string) => process.stdout.write(s));
      const writeErr = output.writeErr ?? ((s: string) => process.stderr.write(s));
      // optsWithGlobals: a root-level -c given before the subcommand counts too.
      const { config: flag } = this.optsWithGlobals<{ config?: string }>();
      if (positional !== undefined && flag !== undefined && positional !== flag) {
        writeErr(`velo: give the file once: "${positional}" or -c "${flag}"\n`);
        process.exitCode = ExitCode.Usage;
        return;
      }
      const found = await findConfigFile({ file: positional ?? flag });
      if (found === undefined) {
        writeErr('velo: no config file to validate: pass FILE or -c FILE, set $VELO_CONFIG, or create ./velo.config.yaml with velo init\n');
        process.exitCode = ExitCode.Usage;
        return;
      }
      try {
        const config = await loadConfig({ file: found });
        const backends = config.pools.reduce((n, p) => n + p.backends.length, 0);
        writeOut(`ok: ${displayPath(found)} (${plural(config.pools.length, 'pool')}, ${plural(backends, 'backend')})\n`);
      } catch (err) {
        if (err instanceof ConfigError) {
          writeErr(`velo: ${err.message}\n`);
          process.exitCode = ExitCode.Usage;
        } else {
          writeErr(`velo: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = ExitCode.Failure;
        }
      }
    });
}
