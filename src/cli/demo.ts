/**
 * `velo demo`: the embedded default. Starts demo backends in-process (fast, medium, slow and
 * flaky), the balancer in front of them, light synthetic traffic so something moves, and the
 * dashboard (structured logs without a TTY or with --headless). Nothing to configure.
 */
import type { Command } from 'commander';
import { startTestBackend, type TestBackend, type TestBackendOptions } from '../backend/test-backend.js';
import { parseConfigText } from '../config/load.js';
import { DEFAULT_LOG_STORE } from '../config/defaults.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { Logger } from '../log/logger.js';
import { quietTerminal, runDashboard, wantsDashboard } from './dashboard-mode.js';
import { startTraffic } from './demo-traffic.js';
import { ExitCode } from './exit-codes.js';
import { flagOverrides, launch, PortInUseError, untilSignal, type Running } from './start.js';

interface DemoFlags {
  backends: string;
  traffic: string;
  port: string;
  adminPort: string;
  headless?: boolean;
}

const PROFILES: ReadonlyArray<Pick<TestBackendOptions, 'latencyMs' | 'jitterMs' | 'failRate'>> = [
  { latencyMs: 5, jitterMs: 5 },
  { latencyMs: 20, jitterMs: 15 },
  { latencyMs: 60, jitterMs: 40, failRate: 0.1 },
];
const MAX_BACKENDS = 50;

/** The config of the demo balancer over `backends`: round robin, health checks every second. */
export function demoConfigText(backends: readonly TestBackend[], port: number, adminPort: number): string {
  return JSON.stringify({
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    strategy: 'round-robin',
    backends: backends.map((b) => ({ url: b.url, name: b.name })),
    health_check: { interval: '1s', timeout: '500ms', rise: 1, fall: 2 },
  });
}

/** The two lines above the dashboard that say what this is and what to try. */
export function demoTitle(backends: number, rps: number, port: number): string[] {
  // Every third backend gets the slow, flaky profile (PROFILES[2]): b3, b6, b9, ...
  const flakyNames = Array.from({ length: backends }, (_, i) => i).filter((i) => PROFILES[i % PROFILES.length]!.failRate !== undefined).map((i) => `b${i + 1}`);
  const flaky = flakyNames.length === 0 ? '' : ` (${flakyNames.length <= 3 ? flakyNames.join(', ') : `${flakyNames.slice(0, 2).join(', ')} ... ${flakyNames.at(-1)}`}: slow, flaky)`;
  const noun = backends === 1 ? 'backend' : 'backends';
  const drain = backends >= 2 ? 'j d = drain b2 · ' : 'd = drain b1 · ';
  const traffic = rps === 0 ? 'no test traffic' : `${rps} req/s of test traffic`;
  return [`velo demo: ${traffic} over ${backends} local ${noun}${flaky}`, `try: ? keys · ${drain}s = strategy · a = add · curl localhost:${port}`];
}

/** Where `velo demo` keeps its log store: `velo logs --db` this file (the OS temp directory, not the cwd). */
export const DEMO_LOG_STORE = join(tmpdir(), 'velo-demo-logs.db');

function parseCount(flag: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError([{ path: flag, message: `must be a whole number from ${min} to ${max}, got "${raw}"` }]);
  return n;
}

async function runDemo(flags: DemoFlags): Promise<void> {
  let count: number, rps: number, port: number, adminPort: number;
  try {
    count = parseCount('--backends', flags.backends, 1, MAX_BACKENDS);
    rps = parseCount('--traffic', flags.traffic, 0, 10_000);
    const overrides = flagOverrides({ port: flags.port, adminPort: flags.adminPort });
    port = overrides.port ?? 8080;
    adminPort = overrides.adminPort ?? 8407;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`velo: ${err.message}\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  const dashboard = wantsDashboard(flags.headless);
  const backends = await Promise.all(
    Array.from({ length: count }, (_, i) => startTestBackend({ name: `b${i + 1}`, ...PROFILES[i % PROFILES.length] })),
  );
  const closeBackends = (): Promise<void> => Promise.all(backends.map((b) => b.close())).then(() => undefined);
  const config = parseConfigText(demoConfigText(backends, port, adminPort), undefined, { flags: { port, adminPort } });
  // The demo keeps its log store in the temp directory (velo logs --db <it>), not in the cwd.
  config.accessLog.store = { ...DEFAULT_LOG_STORE, path: DEMO_LOG_STORE };
  const logger = new Logger(config.logLevel);
  const signalled = dashboard ? undefined : untilSignal();
  const terminal = dashboard ? quietTerminal(logger) : undefined;
  let running: Running;
  try {
    running = await launch(config, undefined, logger, { watchFile: false, accessLog: !dashboard });
  } catch (err) {
    terminal?.flush();
    await closeBackends();
    const why = err instanceof PortInUseError ? `${err.message}; pass another ${err.which === 'admin' ? '--admin-port' : '--port'}` : (err as Error).message;
    process.stderr.write(`velo: cannot start the demo: ${why} (pick other ports with --port N --admin-port N, or 0 for any free one)\n`);
    process.exitCode = ExitCode.Failure;
    return;
  }
  const bound = running.engine.address.port;
  const traffic = startTraffic(`http://127.0.0.1:${bound}`, rps);
  logger.info('demo running', { logStore: DEMO_LOG_STORE, url: `http://127.0.0.1:${bound}`, backends: backends.map((b) => `${b.name}=${b.url}`), trafficRps: rps });
  let farewell: (() => void) | undefined;
  if (terminal !== undefined) {
    await runDashboard(running, logger, { title: demoTitle(count, rps, bound), onStop: () => void traffic.stop() });
    farewell = terminal.release(running);
  } else {
    const signal = await signalled!;
    logger.info('signal received, draining', { signal });
  }
  await traffic.stop();
  const summary = await running.shutdown();
  await closeBackends();
  farewell?.();
  process.exitCode = summary.forced ? ExitCode.Failure : ExitCode.Ok;
}

/** Adds `velo demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('demo backends + balancer + dashboard with light test traffic; nothing to configure')
    .option('--backends <n>', 'how many demo backends to start', '3')
    .option('--traffic <rps>', 'synthetic requests per second (0 for none)', '20')
    .option('-p, --port <n>', 'listen port (0 picks a free one)', '8080')
    .option('--admin-port <n>', 'admin API port (0 picks a free one)', '8407')
    .option('--headless', 'never render the dashboard; log structured lines')
    .addHelpText(
      'after',
      `
Examples:
  velo demo
  velo demo --backends 5 --traffic 100
  velo demo --port 0 --admin-port 0 --headless`,
    )
    .action(runDemo);
}
