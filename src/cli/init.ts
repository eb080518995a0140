/**
 * `velo init [FILE] [--force]`: writes the commented default config, never over an existing
 * file unless told to.
 */
import { writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { CONFIG_TEMPLATE } from '../config/template.js';
import { ExitCode } from './exit-codes.js';

/** A path as the user would like to read it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** The default config as strict JSON (what `velo init x.json` writes; JSON has no comments). */
export function configTemplateJson(): string {
  return JSON.stringify(parse(CONFIG_TEMPLATE), null, 2) + '\n';
}

/**
 * Adds `velo init`: creates FILE (default ./velo.config.yaml; JSON when it ends in `.json`)
 * atomically with respect to other writers; an existing file is left untouched and the exit
 * code is 2 unless `--force` is given.
 */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a commented default config (never overwrites without --force)')
    .argument('[file]', 'where to write it', DEFAULT_CONFIG_FILE)
    .option('--force', 'overwrite the file if it exists')
    .action(async function (this: Command, file: string, opts: { force?: boolean }) {
      const output = this.configureOutput();
      const writeOut = output.writeOut ?? ((s: string) => process.stdout.write(s));
      const writeErr = output.writeErr ?? ((s: string) => process.stderr.write(s));
      const target = resolve(file);
      const shown = displayPath(target);
      try {
        // 'wx' fails with EEXIST if the file appears between any check and the write.
        const text = /\.json$/i.test(target) ? configTemplateJson() : CONFIG_TEMPLATE;
        await writeFile(target, text, { flag: opts.force === true ? 'w' : 'wx' });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EEXIST') {
          writeErr(`velo: ${shown} already exists; pass --force to overwrite it\n`);
          process.exitCode = ExitCode.Usage;
        } else {
          writeErr(`velo: cannot write ${shown}: ${e.message}\n`);
          process.exitCode = ExitCode.Failure;
        }
        return;
      }
      writeOut(`wrote ${shown}\ncheck it with: velo validate ${shown}\n`);
    });
}
