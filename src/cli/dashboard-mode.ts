/**
 * Runs the Ink dashboard over a running engine, in a worker thread so that rendering never
 * holds up a request: this thread posts one snapshot per sampler tick and runs the control
 * calls the keys send back. Logs go to the dashboard's panes while it is up; q or Ctrl-C (or
 * SIGINT/SIGTERM) quits it. If it cannot render, velo says why on stderr and keeps serving
 * with plain structured logs until a signal.
 */
import { Worker } from 'node:worker_threads';
import { engineStore, type ControlMethod } from '../../components/store.js';
import { formatUptime } from '../../components/format-units.js';
import type { FromWorker, ToWorker, WorkerStart } from '../../components/worker-protocol.js';
import type { Control } from '../engine/control.js';
import { stderrSink, type Logger } from '../log/logger.js';
import { LogRing } from './log-ring.js';
import { untilSignal, type Running } from './start.js';

export interface DashboardOptions {
  /** Lines shown above the header. */
  title?: readonly string[];
}

const WORKER = new URL('../../components/dashboard-worker.js', import.meta.url);
const METHODS: readonly ControlMethod[] = ['addBackend', 'removeBackend', 'drain', 'undrain', 'setWeight', 'setStrategy'];
const LEAVE_ALTERNATE_SCREEN_SHOW_CURSOR = '\u001B[?1049l\u001B[?25h';

/** The part of a control result the dashboard shows, as plain data that can cross threads. */
function plain(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'name' in value) {
    const { name, weight } = value as { name: unknown; weight?: unknown };
    return { name, weight };
  }
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/** Runs one control call from the worker and answers with its result or its error message. */
function answer(control: Control, message: Extract<FromWorker, { type: 'call' }>): ToWorker {
  try {
    if (!METHODS.includes(message.method)) throw new Error(`unknown control operation ${message.method}`);
    const operation = control[message.method] as (...args: unknown[]) => unknown;
    return { type: 'reply', id: message.id, ok: true, value: plain(operation.apply(control, message.args)) };
  } catch (err) {
    return { type: 'reply', id: message.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/** Starts the worker and resolves when the user has quit; rejects if the dashboard fails. */
function showInWorker(running: Running, ring: LogRing, options: DashboardOptions, cleanups: Array<() => void>): Promise<void> {
  const { engine, control } = running;
  return new Promise<void>((resolve, reject) => {
    // The snapshot taken before the server was bound shows port 0: start from a fresh one.
    const start: WorkerStart = { snapshot: engine.sampler.tick(), title: options.title };
    // React's development build costs several times more per frame; production is the default here.
    const worker = new Worker(WORKER, { workerData: start, env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' } });
    const post = (message: ToWorker): void => worker.postMessage(message);
    const store = engineStore(engine);
    cleanups.push(
      store.subscribe(() => {
        post({ type: 'snapshot', snapshot: store.getSnapshot() });
        ring.publish();
      }),
      ring.subscribe(() => post({ type: 'logs', entries: ring.getSnapshot() })),
    );
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'call') post(answer(control, message));
      else if (message.type === 'live') ring.setLive(message.live);
      else if (message.type === 'exited') resolve();
      else reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the dashboard stopped (worker exit code ${code})`))));
    const quit = (): void => post({ type: 'quit' });
    const resize = (): void => post({ type: 'resize', columns: process.stdout.columns, rows: process.stdout.rows });
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    if (process.stdout.isTTY) process.stdout.on('resize', resize);
    cleanups.push(() => {
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      process.stdout.off('resize', resize);
      void worker.terminate();
    });
  });
}

/** Shows the dashboard until the user quits, then resolves; the caller shuts the engine down. */
export async function runDashboard(running: Running, logger: Logger, options: DashboardOptions = {}): Promise<void> {
  const { engine } = running;
  const nameOf = (id: string): string | undefined => {
    for (const pool of engine.pools) for (const u of pool.upstreams) if (u.id === id) return u.name;
    return undefined;
  };
  const ring = new LogRing(engine.observers, nameOf);
  const previousSink = logger.sink;
  const cleanups: Array<() => void> = [];
  const restore = (): void => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    ring.setLive(false);
    logger.sink = previousSink;
  };
  logger.sink = ring.sink;
  try {
    await showInWorker(running, ring, options, cleanups);
    restore();
  } catch (err) {
    // Listen before the dashboard's own handlers go and before saying so: a signal sent in
    // between would otherwise kill the process without draining.
    const signalled = untilSignal();
    restore();
    if (process.stdout.isTTY) process.stdout.write(LEAVE_ALTERNATE_SCREEN_SHOW_CURSOR);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    logger.error('dashboard failed; serving with plain logs until SIGINT or SIGTERM', { err });
    const signal = await signalled;
    logger.info('signal received, draining', { signal });
  }
}

/**
 * True when the dashboard should render: a terminal on both stdin and stdout, no --headless,
 * and no `CI` variable (Ink draws nothing when `CI` is set, which would leave a blank screen).
 */
export function wantsDashboard(headless: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (headless === true || (env.CI ?? '') !== '') return false;
  return process.stdout.isTTY === true && process.stdin.isTTY === true;
}

/**
 * Keeps structured log lines off the terminal while the dashboard owns it, and prints one human
 * line when it closes instead of the JSON lines the alternate screen would otherwise reveal.
 * Call before `launch`; `release(running)` after `runDashboard` returns; `flush()` if start fails.
 */
export function quietTerminal(logger: Logger): { flush: () => void; release: (running: Running) => () => void } {
  const held: string[] = [];
  logger.sink = (line) => {
    if (held.length < 200) held.push(line);
  };
  return {
    flush: () => {
      logger.sink = stderrSink;
      for (const line of held) process.stderr.write(line + '\n');
    },
    release: (running) => {
      // Shutdown progress is routine here; only problems reach the terminal.
      logger.sink = stderrSink;
      if (logger.enabled('info')) logger.level = 'warn';
      return () => {
        const { totals, startedAt } = running.engine;
        process.stderr.write(`velo: stopped after ${formatUptime(Date.now() - startedAt)}; ${totals.requests} requests, ${totals.failed} failed\n`);
      };
    },
  };
}
