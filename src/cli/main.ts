#!/usr/bin/env node
/**
 * The `velo` command line: one commander program, one file per subcommand. `velo` alone runs
 * `velo start`. Errors print one line and set a non-zero exit code; never a stack trace.
 * Only the subcommand being run is loaded, so `velo make-request` does not pay for the
 * engine or the dashboard at start-up.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { ExitCode } from './exit-codes.js';

type Register = (program: Command) => void;

/** Each subcommand's module, in help order; `start` is the default command. */
const COMMANDS: ReadonlyArray<[string, () => Promise<Register>]> = [
  ['start', async () => (await import('./start.js')).registerStartCommand],
  ['demo', async () => (await import('./demo.js')).registerDemoCommand],
  ['health', async () => (await import('./health.js')).registerHealthCommand],
  ['servers', async () => (await import('./servers.js')).registerServersCommand],
  ['strategy', async () => (await import('./strategy.js')).registerStrategyCommand],
  ['reload', async () => (await import('./reload.js')).registerReloadCommand],
  ['config', async () => (await import('./config.js')).registerConfigCommand],
  ['make-request', async () => (await import('./make-request.js')).registerMakeRequestCommand],
  ['backend', async () => (await import('./backend.js')).registerBackendCommand],
  ['init', async () => (await import('./init.js')).registerInitCommand],
  ['validate', async () => (await import('./validate.js')).registerValidateCommand],
  ['logs', async () => (await import('./logs.js')).registerLogsCommand],
  ['events', async () => (await import('./events.js')).registerEventsCommand],
];

/**
 * Commander's errors in velo's one style: `velo: ...` and values in double quotes
 * (`error: unknown option '--x'` becomes `velo: unknown option "--x"`).
 */
export function veloStyle(text: string): string {
  return text.replace(/^error: /, 'velo: ').replace(/'([^'\n]*)'/g, '"$1"');
}

/** The program with the named subcommands registered (all of them when `only` is undefined). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('velo')
    .description('HTTP and WebSocket load balancer with a live terminal dashboard')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
velo alone runs \`velo start\`: the dashboard on a terminal, structured logs otherwise.

Examples:
  velo demo                                   three demo backends, the balancer on :8080, the dashboard
  velo start -b http://127.0.0.1:8081 -b http://127.0.0.1:8082
  velo init && velo validate                  write a commented velo.config.yaml, then check it
  velo health                                 pools and backends of a running velo
  velo make-request -c 100 -n 1000            load it and see the distribution`,
    )
    // Set before the subcommands exist: commander copies these settings into each at creation,
    // so a usage error in any subcommand exits 2 rather than commander's own 1, and reads
    // like every other velo error.
    .configureOutput({ outputError: (text, write) => write(veloStyle(text)) })
    .exitOverride();
  for (const [name, load] of COMMANDS) {
    if (only === undefined || name === only) (await load())(program);
  }
  return program;
}

async function main(): Promise<void> {
  const first = process.argv[2];
  const names = new Set(COMMANDS.map(([name]) => name));
  if (first !== undefined && !first.startsWith('-') && first !== 'help' && !names.has(first)) {
    // `start` is the default command, so commander would blame it for "too many arguments".
    process.stderr.write(`velo: unknown command "${first}" (run velo --help for the list)\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  // `velo`, `velo --port 1` and `velo -c f` run the default command; help needs every command;
  // --version needs none.
  const only =
    first !== undefined && names.has(first)
      ? first
      : first === '-v' || first === '--version'
        ? 'none'
        : first === undefined || (first.startsWith('-') && first !== '-h' && first !== '--help')
          ? 'start'
          : undefined;
  const serving = only === 'start' || only === 'demo';
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A closed pipe (`velo --help | head`) ends a one-shot command quietly; a running
      // balancer keeps serving (its access log disables itself).
      if (err.code === 'EPIPE' && !serving) process.exit(process.exitCode ?? 0);
    });
  }
  try {
    const program = await buildProgram(only);
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
