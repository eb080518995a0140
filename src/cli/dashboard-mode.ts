/**
 * Runs the Ink dashboard over a running engine, in a worker thread so that rendering never
 * holds up a request: this thread posts one snapshot per sampler tick and runs the control
 * calls the keys send back. Logs go to the dashboard's panes while it is up; q (after asking)
 * or Ctrl-C (or SIGINT/SIGTERM) begins the drain, which the dashboard shows until velo has stopped. If it cannot render, velo says why on stderr and keeps serving
 * with plain structured logs until a signal.
 */
import { Worker } from 'node:worker_threads';
import { engineStore, type ControlMethod, type DrainView } from '../../components/store.js';
import { formatUptime } from '../../components/format-units.js';
import type { FromWorker, ToWorker, WorkerStart } from '../../components/worker-protocol.js';
import type { Control } from '../engine/control.js';
import type { Upstream } from '../upstream/upstream.js';
import { stderrSink, type Logger } from '../log/logger.js';
import { drainGuardOf, type DrainState } from './drain-guard.js';
import { LogRing } from './log-ring.js';
import { TestRequestTally, poolTarget, reachableUrl, runTestRequests } from './test-requests.js';
import { untilSignal, type Running } from './start.js';

export interface DashboardOptions {
  /** Lines shown above the header. */
  title?: readonly string[];
  /** Called once when velo begins to stop, before the drain (the demo stops its traffic here). */
  onStop?: () => void;
}

const WORKER = new URL('../../components/dashboard-worker.js', import.meta.url);
const LEAVE_ALTERNATE_SCREEN_SHOW_CURSOR = '\u001B[?1049l\u001B[?25h';

/** The part of a backend the dashboard shows of an add or a weight change. */
const shown = (u: Upstream): { name: string; weight: number } => ({ name: u.name, weight: u.weight });
const nothing = (): undefined => undefined;

/**
 * The control operations the worker may call (stop and test requests are answered in
 * `showInWorker`), each with the part of its result the dashboard shows, as plain data that
 * can cross threads.
 */
const OPERATIONS: { [M in Exclude<ControlMethod, 'stop' | 'sendTestRequests'>]: (value: Awaited<ReturnType<Control[M]>>) => unknown } = {
  addBackend: shown,
  removeBackend: nothing,
  drain: nothing,
  undrain: nothing,
  setWeight: shown,
  setStrategy: (name) => name,
  setMaintenance: nothing,
  configDiff: (entries) => entries.map((e) => ({ change: e.change })),
  saveConfig: ({ file, saved, changes }) => ({ file, saved, changes }),
};

function failure(id: number, err: unknown): ToWorker {
  return { type: 'reply', id, ok: false, message: err instanceof Error ? err.message : String(err) };
}

/** Runs one control call from the worker and resolves with the answer: its result or its error message. */
async function answer(control: Control, message: Extract<FromWorker, { type: 'call' }>): Promise<ToWorker> {
  try {
    if (!Object.hasOwn(OPERATIONS, message.method)) throw new Error(`unknown control operation ${message.method}`);
    const method = message.method as keyof typeof OPERATIONS;
    const operation = control[method] as (...args: unknown[]) => unknown;
    const shape = OPERATIONS[method] as (value: unknown) => unknown;
    const value = shape(await operation.apply(control, message.args));
    // "Done" on screen means done on every forwarding worker (control.ts `settled`).
    await control.settled();
    return { type: 'reply', id: message.id, ok: true, value };
  } catch (err) {
    return failure(message.id, err);
  }
}

function drainView(state: DrainState): DrainView {
  return { stops: state.stops, beganAt: state.beganAt, deadlineAt: state.deadlineAt, forced: state.forced };
}

/** Whether a stop was requested while the dashboard was up (then the drain is under way, or done). */
interface StopTracker {
  began: boolean;
}

/**
 * Starts the worker and resolves once velo has stopped (the dashboard stays up through the
 * drain and shows it) or the terminal went away; rejects if the dashboard fails. The first stop
 * (`q` then `y`, Ctrl-C, SIGINT, SIGTERM) begins `running.shutdown()`; later ones go to the
 * drain guard, which applies the stop rule.
 */
function showInWorker(running: Running, ring: LogRing, options: DashboardOptions, cleanups: Array<() => void>, tracker: StopTracker): Promise<void> {
  const { engine, control } = running;
  return new Promise<void>((resolve, reject) => {
    // The snapshot taken before the server was bound shows port 0: start from a fresh one.
    const color = (process.env.NO_COLOR ?? '') === '';
    const start: WorkerStart = { snapshot: engine.sampler.tick(), title: options.title, color };
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
    const onSignal = (signal: NodeJS.Signals): void => stop(signal);
    const stop = (source: string): void => {
      if (tracker.began) {
        drainGuardOf(engine)?.stop(source);
        return;
      }
      tracker.began = true;
      // From here the drain guard counts signals; counting them here too would count each twice.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      options.onStop?.();
      const stopped = running.shutdown();
      const guard = drainGuardOf(engine);
      if (guard !== undefined) {
        post({ type: 'drain', drain: drainView(guard.state()) });
        cleanups.push(guard.subscribe((state) => post({ type: 'drain', drain: drainView(state) })));
      }
      // Show "shutting down" now rather than at the next tick.
      engine.sampler.tick();
      stopped.then(() => post({ type: 'quit' }), reject);
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'call' && message.method === 'stop') {
        stop(String(message.args[0] ?? 'q'));
        post({ type: 'reply', id: message.id, ok: true, value: undefined });
      } else if (message.type === 'call' && message.method === 'sendTestRequests') {
        // The address is read when asked: the listener is bound by then, and a reload never moves it.
        Promise.resolve()
          .then(() => {
            // The pool on screen: requests shaped so the router picks it, split by its backends' names.
            const pool = engine.pools.find((p) => p.name === message.args[1]) ?? engine.pools[0];
            const { url, host } = poolTarget(reachableUrl(engine.snapshot.listen), pool?.config.match ?? {});
            const tally = new TestRequestTally();
            engine.observers.push(tally.record);
            return runTestRequests(url, Number(message.args[0]), { host, tally }).finally(() => {
              const i = engine.observers.indexOf(tally.record);
              if (i >= 0) engine.observers.splice(i, 1);
            });
          })
          .then(
          (value) => post({ type: 'reply', id: message.id, ok: true, value }),
          (err: unknown) => post(failure(message.id, err)),
        );
      } else if (message.type === 'call') void answer(control, message).then(post);
      else if (message.type === 'live') ring.setLive(message.live);
      else if (message.type === 'filter') ring.setFilter(message.filter);
      else if (message.type === 'exited') resolve();
      else reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the dashboard stopped (worker exit code ${code})`))));
    const resize = (): void => post({ type: 'resize', columns: process.stdout.columns, rows: process.stdout.rows });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (process.stdout.isTTY) process.stdout.on('resize', resize);
    cleanups.push(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.off('resize', resize);
      void worker.terminate();
    });
  });
}

/**
 * Shows the dashboard until velo has stopped: a stop request begins the drain and the dashboard
 * shows it to the end. Resolves early if the terminal goes away; the caller then calls
 * `running.shutdown()`, which returns the drain already under way, if any.
 */
export async function runDashboard(running: Running, logger: Logger, options: DashboardOptions = {}): Promise<void> {
  const { engine } = running;
  const ring = new LogRing(engine.observers);
  const previousSink = logger.sink;
  const cleanups: Array<() => void> = [];
  const tracker: StopTracker = { began: false };
  const restore = (): void => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    ring.setLive(false);
    logger.sink = previousSink;
  };
  logger.sink = ring.sink;
  try {
    await showInWorker(running, ring, options, cleanups, tracker);
    restore();
  } catch (err) {
    if (tracker.began) {
      // The drain is already under way and its guard counts signals: just say why the screen went.
      restore();
      if (process.stdout.isTTY) process.stdout.write(LEAVE_ALTERNATE_SCREEN_SHOW_CURSOR);
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      logger.error('dashboard failed while stopping; the drain goes on', { err });
      return;
    }
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
