#!/usr/bin/env node
/**
 * The `velo` command line: one commander program, one file per subcommand. `velo` alone runs
 * `velo start`. Errors print one line and set a non-zero exit code; never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerStartCommand } from './start.js';
import { registerBackendCommand } from './backend.js';
import { registerInitCommand } from './init.js';
import { registerValidateCommand } from './validate.js';
import { registerDemoCommand } from './demo.js';
import { registerHealthCommand } from './health.js';
import { registerServersCommand } from './servers.js';
import { registerStrategyCommand } from './strategy.js';
import { registerReloadCommand } from './reload.js';
import { registerMakeRequestCommand } from './make-request.js';
import { ExitCode } from './exit-codes.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('velo')
    .description('HTTP and WebSocket load balancer with a live terminal dashboard')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands exist: commander copies these settings into each at creation,
    // so a usage error in any subcommand exits 2 rather than commander's own 1.
    .exitOverride();
  registerStartCommand(program);
  registerBackendCommand(program);
  registerInitCommand(program);
  registerValidateCommand(program);
  registerDemoCommand(program);
  registerHealthCommand(program);
  registerServersCommand(program);
  registerStrategyCommand(program);
  registerReloadCommand(program);
  registerMakeRequestCommand(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  const first = process.argv[2];
  const known = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]).concat('help'));
  if (first !== undefined && !first.startsWith('-') && !known.has(first)) {
    // `start` is the default command, so commander would blame it for "too many arguments".
    process.stderr.write(`velo: unknown command '${first}' (run velo --help for the list)\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    process.stderr.write(`velo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = ExitCode.Failure;
  }
}

await main();
