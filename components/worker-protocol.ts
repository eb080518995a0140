/**
 * The messages between the proxy's thread and the dashboard's worker thread. The worker
 * renders; the proxy thread only posts a snapshot per sampler tick and runs the control
 * operations the keys ask for, so rendering never blocks a request.
 */
import type { EngineSnapshot } from '../src/metrics/snapshot.js';
import type { ControlMethod, DrainView, LogEntry } from './store.js';
import type { RecordFilter } from '../src/metrics/record-filter.js';

/** What the worker needs to start: the first snapshot, the lines above the header, and whether to use colour. */
export interface WorkerStart {
  snapshot: EngineSnapshot;
  title?: readonly string[];
  /** False when `NO_COLOR` is set: state words carry the meaning alone. */
  color?: boolean;
}

/** Proxy thread to worker. */
export type ToWorker =
  | { type: 'snapshot'; snapshot: EngineSnapshot }
  | { type: 'logs'; entries: readonly LogEntry[] }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; message: string }
  | { type: 'resize'; columns: number; rows: number }
  /** The drain began, or another stop request came (a key or a signal). */
  | { type: 'drain'; drain: DrainView }
  /** velo has stopped: unmount and exit. */
  | { type: 'quit' };

/** Worker to proxy thread. */
export type FromWorker =
  | { type: 'call'; id: number; method: ControlMethod; args: unknown[] }
  | { type: 'live'; live: boolean }
  /** The log pane's filter changed: the ring keeps only matching requests (LogStore.setFilter). */
  | { type: 'filter'; filter: RecordFilter | undefined }
  | { type: 'exited' }
  | { type: 'failed'; message: string };
