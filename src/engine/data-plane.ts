/**
 * Where requests are forwarded when not in the engine's own process: the forwarding workers
 * (cluster/primary.ts). The engine is then the control plane alone: config, health checks,
 * decisions, the admin API and the snapshot, with counters that the workers report.
 */
import type { StopSummary } from './engine.js';

/** One forwarding worker as `GET /api/workers`, the snapshot and the dashboard show it. */
export interface WorkerView {
  /** node:cluster's worker id (1, 2, ...; a restarted worker gets a new one). */
  id: number;
  pid: number;
  state: 'starting' | 'ready' | 'stopping';
  /** Wall-clock ms when it was forked. */
  startedAt: number;
  /** Requests it answered (as reported; up to one 250 ms tick behind). */
  requests: number;
  /** Requests and tunnels in flight in it, as last reported. */
  inFlight: number;
}

export interface DataPlane {
  /** Starts the workers; resolves with the port they listen on once every one listens. Throws what `listen` threw. */
  start(): Promise<number>;
  /** Requests in flight over every worker, open tunnels not counted. */
  readonly requestsInFlight: number;
  /** Requests waiting for a backend slot in the pool named `pool`, over every worker. */
  queueDepth(pool: string): number;
  /** Drains every worker (each stops accepting, finishes in flight up to `shutdown_timeout`) and sums their summaries. */
  stop(): Promise<StopSummary>;
  /** Cuts what every worker still has in flight; returns how many requests that cuts. */
  forceStop(): number;
  /** The workers now, oldest first. */
  list(): WorkerView[];
  /** Workers restarted after dying since start. */
  readonly restarts: number;
  /** Replaces every worker one at a time without refusing a connection; resolves with how many. */
  rollingRestart(): Promise<number>;
}
