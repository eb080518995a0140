/**
 * The messages between the proxy's thread and the dashboard's worker thread. The worker
 * renders; the proxy thread only posts a snapshot per sampler tick and runs the control
 * operations the keys ask for, so rendering never blocks a request.
 */
import type { EngineSnapshot } from '../src/metrics/snapshot.js';
import type { ControlMethod } from './store.js';
import type { LogEntry } from './store.js';

/** What the worker needs to start: the first snapshot and the lines above the header. */
export interface WorkerStart {
  snapshot: EngineSnapshot;
  title?: readonly string[];
}

/** Proxy thread to worker. */
export type ToWorker =
  | { type: 'snapshot'; snapshot: EngineSnapshot }
  | { type: 'logs'; entries: readonly LogEntry[] }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; message: string }
  | { type: 'resize'; columns: number; rows: number }
  | { type: 'quit' };

/** Worker to proxy thread. */
export type FromWorker =
  | { type: 'call'; id: number; method: ControlMethod; args: unknown[] }
  | { type: 'live'; live: boolean }
  | { type: 'exited' }
  | { type: 'failed'; message: string };
