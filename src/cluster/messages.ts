/**
 * What the control plane (the primary process) and the data plane (forwarding workers) say to
 * each other over node:cluster's IPC channel (`serialization: 'advanced'`, so Buffers survive).
 * One way: versioned state (the config to forward with, then backend states). The other way:
 * counters and passive verdicts. Every message carries `velo: 1` so others on the channel
 * (prom-client's, Node's own) are told apart. Layout and rates: docs/architecture.md.
 */
import type { VeloConfig } from '../config/types.js';
import type { HealthState } from '../health/hysteresis.js';
import type { CircuitState } from '../resilience/circuit-breaker.js';
import type { RateLimitRefusal } from '../resilience/rate-limit.js';
import type { RequestSeriesDelta } from '../metrics/prometheus.js';
import type { StopSummary } from '../engine/engine.js';
import type { EngineEvent } from '../metrics/event-log.js';
import type { RequestRecord } from '../engine/request-record.js';

/** One backend's state as the control plane decided it; durations are remaining ms, never clock readings. */
export interface BackendState {
  id: string;
  health: HealthState;
  circuit: CircuitState;
  /** An open breaker's ms until it lets probes through (0 otherwise). */
  retryAfterMs: number;
  /** Ms of outlier ejection left (0 = not ejected). */
  ejectedMs: number;
  /** Ms since its slow-start ramp began; -1 when not ramping. */
  rampElapsedMs: number;
  /** In flight from every worker as last reported (least-connections compares the aggregate). */
  inFlight: number;
}

/** Every backend's state at one version; workers ignore an older version than they hold. */
export interface PlaneState {
  version: number;
  pools: Array<{ name: string; backends: BackendState[] }>;
}

/** The engine totals a report carries as deltas (`EngineTotals` without the `inFlight` gauge). */
export const REPORTED_TOTALS = ['requests', 'success', 'failed', 'rejected', 'retries', 'rateLimited'] as const;
/** The per-backend counters a report carries as deltas: `UpstreamCounters` and tunnels ever opened. */
export const REPORTED_COUNTERS = ['requests', 'failures', 'status2xx', 'status3xx', 'status4xx', 'status5xx', 'bytesOut', 'tunnelsTotal'] as const;

/** Deltas of the totals since the previous report. */
export type ReportedTotals = Record<(typeof REPORTED_TOTALS)[number], number>;
/** Deltas of one backend's counters since the previous report. */
export type ReportedCounters = Record<(typeof REPORTED_COUNTERS)[number], number>;

/** A worker's counters since its previous report (deltas), and its current gauges (absolutes). */
export interface WorkerReport {
  totals: ReportedTotals;
  /** Absolute: requests and tunnels in flight in this worker now. */
  inFlight: number;
  tunnels: number;
  backends: Array<
    ReportedCounters & {
      pool: string;
      id: string;
      /** Absolute. */
      inFlight: number;
      tunnels: number;
      /** Response times (ms) since the last report, at most 1024. */
      latencies: number[];
    }
  >;
  /** Absolute queue depth per pool. */
  queues: Array<[pool: string, depth: number]>;
  series: RequestSeriesDelta;
}

/** `count` consecutive passive verdicts on one backend: `[pool, backend id, verdict, status (0 = no response), count]`. */
export type Verdict = [pool: string, backend: string, verdict: 'success' | 'failure', status: number, count: number];

/** A worker's question for the shared rate limit: one request's pool, method, target and client. */
export interface RateLimitAsk {
  id: number;
  pool: string;
  method: string;
  target: string;
  clientIp: string;
}

export type ToWorker =
  | { velo: 1; t: 'apply'; seq: number; config: VeloConfig; state: PlaneState; stickySecret: Buffer }
  | { velo: 1; t: 'state'; state: PlaneState }
  | { velo: 1; t: 'rate-limit'; answers: Array<[id: number, refusal: RateLimitRefusal | undefined]> }
  /** Relay request records (for the dashboard's log pane and test tally) while `on`. */
  | { velo: 1; t: 'tap'; on: boolean }
  | { velo: 1; t: 'stop' }
  | { velo: 1; t: 'force-stop' };

export type ToPrimary =
  /** The worker listens for messages: the primary may send the first `apply`. */
  | { velo: 1; t: 'hello' }
  | { velo: 1; t: 'ready'; port: number }
  /** The worker could not listen (`code` as Node gave it, e.g. EADDRINUSE) and exits. */
  | { velo: 1; t: 'failed'; message: string; code?: string }
  | { velo: 1; t: 'ack'; seq: number; error?: string }
  | { velo: 1; t: 'report'; report: WorkerReport }
  | { velo: 1; t: 'verdicts'; verdicts: Verdict[] }
  | { velo: 1; t: 'rate-limit'; asks: RateLimitAsk[] }
  | { velo: 1; t: 'records'; records: RequestRecord[] }
  /** One line of the worker's process log, for the primary's logger (terminal or dashboard). */
  | { velo: 1; t: 'log'; line: string; level: 'debug' | 'info' | 'warn' | 'error' }
  | { velo: 1; t: 'event'; event: Omit<EngineEvent, 'seq' | 'at'> }
  | { velo: 1; t: 'stopped'; summary: StopSummary; report: WorkerReport };

/** True for a message of velo's own on the cluster channel. */
export function isVeloMessage<T extends { velo: 1 }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && (m as { velo?: unknown }).velo === 1;
}
