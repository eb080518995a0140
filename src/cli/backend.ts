import type { Command } from 'commander';
import { startTestBackend, type TestBackendOptions } from '../backend/test-backend.js';
import { parseDuration } from '../config/parse-duration.js';
import { ExitCode } from './exit-codes.js';

interface BackendFlags {
  port: string;
  host: string;
  name?: string;
  latency?: string;
  jitter?: string;
  failRate?: string;
  status?: string;
}

type Parsed = { ok: true; options: TestBackendOptions } | { ok: false; error: string };

/** Turns raw flag strings into test-backend options, or the first problem found, worded for the command line. */
export function parseBackendFlags(flags: BackendFlags): Parsed {
  const options: TestBackendOptions = { host: flags.host, name: flags.name };
  if (!/^\d+$/.test(flags.port) || Number(flags.port) > 65535) {
    return { ok: false, error: `--port must be an integer in 0..65535, got "${flags.port}"` };
  }
  options.port = Number(flags.port);
  if (flags.host.trim() === '') return { ok: false, error: '--host must not be empty' };
  if (flags.name !== undefined && !/^[\x21-\x7e]+$/.test(flags.name)) {
    return { ok: false, error: `--name must be printable ASCII without spaces, got "${flags.name}"` };
  }
  for (const [flag, key, raw] of [
    ['--latency', 'latencyMs', flags.latency],
    ['--jitter', 'jitterMs', flags.jitter],
  ] as const) {
    if (raw === undefined) continue;
    const ms = parseDuration(raw);
    if (ms === undefined) return { ok: false, error: `${flag} must be a duration like 250ms, 1s or 20, got "${raw}"` };
    options[key] = ms;
  }
  if (flags.failRate !== undefined) {
    const fraction = /^\d*\.?\d+$/.test(flags.failRate) ? Number(flags.failRate) : NaN;
    if (!(fraction >= 0 && fraction <= 1)) {
      return { ok: false, error: `--fail-rate must be a number in 0..1, got "${flags.failRate}"` };
    }
    options.failRate = fraction;
  }
  if (flags.status !== undefined) {
    if (!/^\d{3}$/.test(flags.status) || Number(flags.status) < 200 || Number(flags.status) > 599) {
      return { ok: false, error: `--status must be an HTTP status in 200..599, got "${flags.status}"` };
    }
    options.status = Number(flags.status);
  }
  return { ok: true, options };
}

/** Adds `velo backend`: a test backend that serves until SIGINT or SIGTERM, then exits 0. */
export function registerBackendCommand(program: Command): void {
  program
    .command('backend')
    .description('run a test backend with /health, /echo, /stream, /status/N, /delay/MS, /drop and /ws')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '0')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--name <name>', 'name reported in bodies and X-Backend (default backend-PORT)')
    .option('--latency <duration>', 'delay added to every non-health response, e.g. 20ms')
    .option('--jitter <duration>', 'extra random delay in [0, jitter), e.g. 10ms')
    .option('--fail-rate <fraction>', 'fraction of non-health requests answered 500, e.g. 0.1')
    .option('--status <code>', 'status forced on every non-health response')
    .action(async function (this: Command, flags: BackendFlags) {
      const parsed = parseBackendFlags(flags);
      if (!parsed.ok) this.error(`velo: ${parsed.error}`, { exitCode: ExitCode.Usage, code: 'velo.usage' });
      const backend = await startTestBackend(parsed.options);
      const shutdown = (): void => {
        process.off('SIGINT', shutdown);
        process.off('SIGTERM', shutdown);
        void backend.close().then(() => process.exit(ExitCode.Ok));
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
      process.stdout.write(`velo backend ${backend.name} listening on ${backend.url}\n`);
    });
}
