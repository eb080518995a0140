/**
 * `velo [start]`: load the config, start the engine, and serve until SIGTERM/SIGINT, which
 * drain in-flight requests (up to `shutdown_timeout`) and exit 0; a third signal during the
 * drain cuts them and exits 1 (drain-guard.ts). SIGHUP and edits of the
 * config file reload it; a bad file keeps the running config.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type FlagOverrides } from '../config/load.js';
import { describeOrigin, lookupAddresses } from '../config/addresses.js';
import type { VeloConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { Engine, type StopSummary } from '../engine/engine.js';
import { guardDrain } from './drain-guard.js';
import { Control } from '../engine/control.js';
import { Logger } from '../log/logger.js';
import { ExitCode } from './exit-codes.js';
import { quietTerminal, runDashboard, wantsDashboard } from './dashboard-mode.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { createAccessLog } from '../metrics/access-log.js';
import { availableParallelism } from 'node:os';
import { ClusterPrimary } from '../cluster/primary.js';
import { startDiscovery, type Discovery } from '../discovery/index.js';
import { registerDnsMetrics } from '../metrics/prometheus.js';
import type { AttachedStore } from '../store/attach-store.js';
import type { LogStoreOptions } from '../store/log-store.js';

export interface StartFlags {
  config?: string;
  backend?: string[];
  strategy?: string;
  port?: string;
  host?: string;
  adminPort?: string;
  headless?: boolean;
  watch?: boolean;
  accessLog?: boolean;
  workers?: string;
}

function toInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new ConfigError([{ path: flag, message: `must be a port number 0..65535, got "${value}"` }]);
  return Number(value);
}

export function flagOverrides(flags: StartFlags): FlagOverrides {
  return {
    port: toInt('--port', flags.port),
    host: flags.host,
    adminPort: toInt('--admin-port', flags.adminPort),
    strategy: flags.strategy,
    backends: flags.backend,
  };
}

/** A port velo could not bind because something else holds it; `which` says which of velo's two. */
export class PortInUseError extends Error {
  constructor(
    readonly which: 'listen' | 'admin',
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(`${which === 'admin' ? 'admin port' : 'port'} ${port} is in use`, options);
  }
}

function inUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

/**
 * `port 8080 is in use (listen.port in ./velo.config.yaml; change it or pass --port)`: the
 * setting that chose the port, from the same lookup `start` used.
 */
export async function portInUseMessage(err: PortInUseError, file: string | undefined, flags: FlagOverrides): Promise<string> {
  const flag = err.which === 'admin' ? '--admin-port' : '--port';
  try {
    const a = await lookupAddresses({ file, flags });
    const setting = err.which === 'admin' ? a.admin.port : a.listen.port;
    const origin = describeOrigin(setting, a.file);
    const advice = setting.from === 'flag' ? `pass another ${flag}` : `change it or pass ${flag}`;
    return `${err.message} (${origin}; ${advice})`;
  } catch {
    return `${err.message} (pass ${flag})`;
  }
}

/**
 * The number of forwarding processes: `--workers` (or `workers:`) as a count, `auto` as
 * `os.availableParallelism()`. Throws a `ConfigError` naming the flag for anything else.
 */
export function resolveWorkers(configured: number | 'auto', flag?: string): number {
  const value = flag ?? configured;
  if (value === 'auto') return availableParallelism();
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new ConfigError([{ path: '--workers', message: `must be a number from 1 to 256 or auto, got "${String(value)}"` }]);
  }
  return n;
}

export interface Running {
  engine: Engine;
  control: Control;
  /** The forwarding workers when there is more than one (`--workers`); undefined in one process. */
  workers?: ClusterPrimary;
  /** Docker discovery, when `providers.docker` is configured. */
  docker?: import('../discovery/docker-provider.js').DockerProvider;
  /** The log store writer of this process (`access_log.store`); undefined when off. */
  logStore?: AttachedStore;
  /**
   * Stops watching, drains and closes; resolves when everything is closed. SIGINT/SIGTERM
   * during the drain follow the stop rule of drain-guard.ts.
   */
  shutdown: () => Promise<StopSummary>;
}

/** Starts an engine for `config` with reload wiring; used by `start` and `demo`. */
export async function launch(
  config: VeloConfig,
  reloader: (() => Promise<VeloConfig>) | undefined,
  logger: Logger,
  opts: {
    watchFile?: boolean;
    /** Write the access log (headless); the dashboard shows requests itself. */
    accessLog?: boolean;
    /** Forwarding processes (resolveWorkers); 1 forwards in this process. */
    workers?: number;
    /** Test hooks of the log store writer (a slow disk, a clock for retention). */
    logStore?: Pick<LogStoreOptions, 'wallClock' | 'slowFlushMs' | 'maxQueued' | 'flushEveryMs'>;
  } = {},
): Promise<Running> {
  const workerCount = opts.workers ?? 1;
  // With workers, this process is the control plane and the workers write the access log.
  const plane = workerCount > 1 ? new ClusterPrimary({ workers: workerCount, logger, accessLog: opts.accessLog === false ? { ...config.accessLog, enabled: false } : config.accessLog }) : undefined;
  const engine = new Engine({ config, logger, dataPlane: plane });
  const control = new Control(engine, reloader);
  plane?.attach(engine, control);
  // An empty pool is allowed (requests get 503 until a backend is added), but said loudly.
  for (const w of config.warnings ?? []) {
    logger.warn(w.message, { path: w.path, ...(w.line !== undefined ? { line: w.line, column: w.column } : {}), hint: w.hint });
    engine.events.add({ kind: 'lifecycle', level: 'warn', message: `${w.message}: ${w.hint ?? ''}` });
  }
  const accessLog = opts.accessLog === false || plane !== undefined ? undefined : createAccessLog(config.accessLog, logger);
  if (accessLog !== undefined) engine.observers.push(accessLog.observe);
  // The store is loaded only when configured (no SQLite otherwise); with workers they store the records.
  const storeConfig = config.accessLog.store;
  let logStore: AttachedStore | undefined;
  try {
    logStore = storeConfig === undefined ? undefined : await (await import('../store/attach-store.js')).attachLogStore(engine, storeConfig, logger, { records: plane === undefined, ...opts.logStore });
  } catch (err) {
    await accessLog?.close();
    throw err;
  }
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const reload = (actor: 'signal' | 'file-watch'): void => {
    control.reload(actor).catch(() => {
      // Already logged and recorded as an event by Control; the old config stays.
    });
  };
  if (config.source !== undefined && opts.watchFile !== false) {
    try {
      // Watch the directory, not the file: editors save by writing a temp file and renaming it
      // over the old one, after which a watch on the file itself never fires again.
      const source = config.source;
      const name = basename(source);
      // velo's own `config save` is not an edit to reload: the running config already is that file.
      const onChange = async (): Promise<void> => {
        const text = await readFile(source, 'utf8').catch(() => undefined);
        if (text !== undefined && control.isOwnWrite(text)) return logger.debug('config file change is velo\'s own save; not reloading', { file: source });
        reload('file-watch');
      };
      watcher = watch(dirname(source), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => void onChange(), 200);
      });
      watcher.on('error', () => {});
    } catch (err) {
      logger.warn('cannot watch config file; use SIGHUP or `velo reload`', { file: config.source, err });
    }
  }
  const onHup = (): void => reload('signal');
  process.on('SIGHUP', onHup);
  // SIGUSR2: replace the workers one at a time (a new build on disk is picked up).
  const onUsr2 = (): void => {
    if (plane === undefined) return logger.warn('SIGUSR2 ignored: a rolling restart needs workers (--workers 2 or more)');
    plane.rollingRestart().catch((err: unknown) => logger.error('rolling restart failed', { err }));
  };
  process.on('SIGUSR2', onUsr2);
  const stopWatching = (): void => {
    process.off('SIGHUP', onHup);
    process.off('SIGUSR2', onUsr2);
    clearTimeout(debounce);
    watcher?.close();
  };
  // Watchers and the SIGHUP handler exist before the "listening" line, so a reload requested
  // right after start is never lost (and SIGHUP never falls back to its default: exit).
  // The admin API binds first: a busy admin port stops start-up before "listening" is logged.
  let admin: AdminServer | undefined;
  if (config.admin.enabled) {
    try {
      admin = await startAdminServer(engine, control, config.admin);
      // The snapshot (dashboard header, `?`) shows the port actually bound, not a configured 0.
      engine.adminAddress = admin.address;
      if (plane !== undefined) plane.metrics = admin.metrics;
      if (logStore !== undefined) admin.metrics.registerLogStore(() => logStore!.store.dropped);
    } catch (err) {
      stopWatching();
      await accessLog?.close();
      await logStore?.close();
      if (inUse(err)) throw new PortInUseError('admin', config.admin.host, config.admin.port, { cause: err });
      throw new Error(`admin API on ${config.admin.host}:${config.admin.port}: ${(err as Error).message}`, { cause: err });
    }
  }
  // DNS discovery: every name is resolved once before the port is bound, so a name that never
  // resolved fails the start (unless allow_unresolved); pools that gain dns: on reload follow.
  let discovery: Discovery;
  try {
    const metrics = admin?.metrics;
    discovery = await startDiscovery(engine, control, { onActive: (d) => metrics !== undefined && registerDnsMetrics(metrics, () => d.status()) });
  } catch (err) {
    stopWatching();
    await admin?.close();
    await accessLog?.close();
    throw err;
  }
  try {
    await engine.start();
  } catch (err) {
    discovery.stop();
    stopWatching();
    await admin?.close();
    await accessLog?.close();
    await logStore?.close();
    if (inUse(err)) throw new PortInUseError('listen', config.listen.host, config.listen.port, { cause: err });
    throw err;
  }
  if (admin !== undefined) logger.info('admin listening', { address: admin.url });
  // Many instances: loaded only with `cluster:` (no Redis code otherwise); never waits for Redis.
  const cluster = config.cluster === undefined ? undefined : await (await import('../cluster/redis/index.js')).startRedisCluster(engine, control, config.cluster, logger);
  // Discovery: loaded only with `providers.docker`; runs here, in the control plane, never waits for Docker.
  const docker = config.providers?.docker === undefined ? undefined : (await import('../discovery/start-docker.js')).startDockerProvider(engine, control, config.providers.docker, logger, admin?.metrics.registry);
  let stopping: Promise<StopSummary> | undefined;
  const shutdown = (): Promise<StopSummary> => {
    stopping ??= (async () => {
      stopWatching();
      discovery.stop();
      const began = Date.now();
      const unguard = guardDrain(engine, logger, began + engine.config.shutdownTimeoutMs);
      try {
        await docker?.close();
        const summary = await engine.stop();
        await cluster?.close();
        await admin?.close();
        await accessLog?.close();
        await logStore?.close();
        const { requests, success, failed } = engine.totals;
        logger[summary.forced ? 'warn' : 'info']('stopped', { ...summary, requests, success, failed });
        return summary;
      } finally {
        unguard();
      }
    })();
    return stopping;
  };
  return {
    engine,
    control,
    shutdown,
    ...(plane !== undefined ? { workers: plane } : {}),
    ...(docker !== undefined ? { docker: docker.provider } : {}),
    ...(logStore !== undefined ? { logStore } : {}),
  };
}

/**
 * Resolves on the first SIGINT or SIGTERM. The handlers stay (later calls do nothing) so that a
 * signal between this and the drain guard's handlers never falls back to Node's default: exit
 * with requests in flight.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => resolve(sig);
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

async function runStart(flags: StartFlags): Promise<void> {
  let config: VeloConfig;
  let overrides: FlagOverrides;
  try {
    overrides = flagOverrides(flags);
    config = await loadConfig({ file: flags.config, flags: overrides });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`velo: ${err.message}\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  if (flags.accessLog === false) config.accessLog.enabled = false;
  const logger = new Logger(config.logLevel);
  const file = config.source;
  const reloader = file === undefined ? undefined : () => loadConfig({ file, flags: overrides });
  const dashboard = wantsDashboard(flags.headless);
  // Listening for signals before the "listening" line means a SIGTERM right after it still drains.
  const signalled = dashboard ? undefined : untilSignal();
  const terminal = dashboard ? quietTerminal(logger) : undefined;
  let running: Running;
  let workers: number;
  try {
    workers = resolveWorkers(config.workers, flags.workers);
  } catch (err) {
    process.stderr.write(`velo: ${(err as Error).message}\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  try {
    running = await launch(config, reloader, logger, { watchFile: flags.watch, accessLog: !(dashboard && ['stdout', '-'].includes(config.accessLog.target)), workers });
  } catch (err) {
    terminal?.flush();
    const message = err instanceof PortInUseError ? await portInUseMessage(err, file, overrides) : `cannot start: ${(err as Error).message}`;
    process.stderr.write(`velo: ${message}\n`);
    process.exitCode = ExitCode.Failure;
    return;
  }
  let farewell: (() => void) | undefined;
  if (terminal !== undefined) {
    await runDashboard(running, logger);
    farewell = terminal.release(running);
  } else {
    const signal = await signalled!;
    logger.info('signal received, draining', { signal });
  }
  const summary = await running.shutdown();
  farewell?.();
  process.exitCode = summary.forced ? ExitCode.Failure : ExitCode.Ok;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start', { isDefault: true })
    .description('run the balancer (dashboard on a TTY, structured logs otherwise)')
    .option('-c, --config <file>', 'config file (default: $VELO_CONFIG, then ./velo.config.yaml)')
    .option('-b, --backend <url...>', 'backend URL; repeat for more (replaces the first pool\'s backends)')
    .option('-s, --strategy <name>', 'balancing strategy, e.g. round-robin, least-connections')
    .option('-p, --port <n>', 'listen port')
    .option('--host <addr>', 'listen address')
    .option('--admin-port <n>', 'admin API port (0 picks a free one)')
    .option('--headless', 'never render the dashboard; log structured lines')
    .option('--no-watch', 'do not reload when the config file changes')
    .option('--no-access-log', 'do not write the access log (benchmarks)')
    .option('-w, --workers <n>', 'forwarding processes sharing the port: a number, or auto for one per core (default 1)')
    .addHelpText(
      'after',
      `
Examples:
  velo start --backend http://127.0.0.1:8081 --backend http://127.0.0.1:8082
  velo start -c velo.config.yaml --headless
  VELO_PORT=9000 velo start --strategy least-connections -b http://10.0.0.5:80
  velo start -c velo.config.yaml --headless --workers auto`,
    )
    .action(runStart);
}
