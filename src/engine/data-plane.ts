/**
 * Where requests are forwarded when not in the engine's own process: the forwarding workers
 * (cluster/primary.ts). The engine is then the control plane alone: config, health checks,
 * decisions, the admin API and the snapshot, with counters that the workers report.
 */
import type { StopSummary } from './engine.js';

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
}
