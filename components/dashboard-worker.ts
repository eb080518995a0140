/**
 * The dashboard's worker thread: renders with Ink on the terminal's own file descriptors,
 * fed a snapshot per tick by the proxy's thread, and sends the keys' control calls back to
 * it. Started by src/cli/dashboard-mode.ts with a `WorkerStart` as workerData.
 */
import tty from 'node:tty';
import { parentPort, workerData } from 'node:worker_threads';
import type { EngineSnapshot } from '../src/metrics/snapshot.js';
import { mountDashboard } from './mount.js';
import type { ControlMethod, DashboardControl, DrainView, LogEntry, LogStore, SnapshotStore } from './store.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

/** A store whose value is replaced by `set`; subscribers hear each replacement. */
function valueStore<T>(initial: T): { subscribe(listener: () => void): () => void; getSnapshot(): T; set(value: T): void } {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot: () => value,
    set: (next) => {
      value = next;
      for (const l of listeners) l();
    },
  };
}

const port = parentPort!;
const start = workerData as WorkerStart;
const send = (message: FromWorker): void => {
  port.postMessage(message);
};

const snapshots = valueStore<EngineSnapshot>(start.snapshot);
const entries = valueStore<readonly LogEntry[]>([]);
const drain = valueStore<DrainView | undefined>(undefined);
const store: SnapshotStore = snapshots;
const logs: LogStore = {
  subscribe: entries.subscribe,
  getSnapshot: entries.getSnapshot,
  setLive: (live) => send({ type: 'live', live }),
  setFilter: (filter) => send({ type: 'filter', filter }),
};

let nextCall = 0;
const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
const call =
  (method: ControlMethod) =>
  (...args: unknown[]): Promise<never> =>
    new Promise((resolve, reject) => {
      const id = ++nextCall;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      send({ type: 'call', id, method, args });
    });
const control = {
  addBackend: call('addBackend'),
  removeBackend: call('removeBackend'),
  drain: call('drain'),
  undrain: call('undrain'),
  setWeight: call('setWeight'),
  setStrategy: call('setStrategy'),
  setMaintenance: call('setMaintenance'),
  configDiff: call('configDiff'),
  saveConfig: call('saveConfig'),
  stop: call('stop'),
  sendTestRequests: call('sendTestRequests'),
} as DashboardControl;

let stdout: tty.WriteStream | undefined;
let stdin: tty.ReadStream | undefined;
const closeStreams = (): void => {
  stdin?.destroy();
  stdout?.end();
};

try {
  stdout = new tty.WriteStream(1);
  stdin = new tty.ReadStream(0);
  const out = stdout;
  const dashboard = mountDashboard({ store, control, logs, drain, title: start.title, color: start.color }, stdout as NodeJS.WriteStream, stdin as NodeJS.ReadStream);
  // The terminal went away (window closed, ssh dropped): quit as if q had been pressed.
  const hangUp = (): void => dashboard.unmount();
  stdin.once('end', hangUp).once('error', hangUp);
  out.once('error', hangUp);
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'snapshot':
        return snapshots.set(message.snapshot);
      case 'logs':
        return entries.set(message.entries);
      case 'reply': {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(message.message));
        return;
      }
      case 'resize':
        out.columns = message.columns;
        out.rows = message.rows;
        out.emit('resize');
        return;
      case 'drain':
        return drain.set(message.drain);
      case 'quit':
        return dashboard.unmount();
    }
  });
  dashboard.waitUntilExit().then(
    () => {
      closeStreams();
      send({ type: 'exited' });
      port.close();
    },
    (err: unknown) => {
      closeStreams();
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      port.close();
    },
  );
} catch (err) {
  closeStreams();
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
}
