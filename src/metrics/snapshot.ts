/**
 * The frozen picture of the engine that the dashboard, the admin API and the CLI read. The
 * sampler builds one per tick; nothing in it is ever mutated afterwards.
 */
import type { StrategyName } from '../config/types.js';
import type { CircuitState } from '../resilience/circuit-breaker.js';
import type { EngineEvent } from './event-log.js';
import type { WorkerView } from '../engine/data-plane.js';
import type { BackendSource } from '../upstream/upstream.js';

/**
 * What an operator reads first: `down` means the breaker is open or the backend is ejected;
 * `maint` means an operator took it out of rotation (HAProxy's MAINT), checks still running.
 */
export type BackendState = 'healthy' | 'unhealthy' | 'draining' | 'maint' | 'down' | 'unknown';

export interface BackendSnapshot {
  id: string;
  name: string;
  /** Scheme, host, port and base path (`http://10.0.0.5:8080/app`). */
  url: string;
  /** Where it came from: `config`, `runtime` (dashboard, API, CLI), `dns` or `docker`. */
  source: BackendSource;
  state: BackendState;
  health: 'unknown' | 'healthy' | 'unhealthy';
  circuit: CircuitState;
  draining: boolean;
  /** In maintenance: out of rotation for everyone, still health-checked. */
  maintenance: boolean;
  ejected: boolean;
  weight: number;
  effectiveWeight: number;
  /** Slow-start progress in percent; 100 when not ramping. */
  rampPercent: number;
  /** Requests in flight plus open WebSocket tunnels. */
  inFlight: number;
  /** Open WebSocket tunnels (counted in `inFlight` too). */
  tunnels: number;
  /** `max_connections`: the most requests and tunnels in flight at once; 0 = unlimited. */
  maxConnections: number;
  requests: number;
  failures: number;
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Requests per second over the last tick. */
  rps: number;
  /** Recent rps values, oldest first (one per tick), for sparklines. */
  rpsHistory: readonly number[];
  p50Ms: number;
  p99Ms: number;
  lastCheck?: { at: number; ok: boolean; durationMs: number; detail?: string };
}

export interface PoolSnapshot {
  name: string;
  strategy: StrategyName;
  match: { host?: string; pathPrefix?: string };
  backends: readonly BackendSnapshot[];
  healthyCount: number;
  queueDepth: number;
  rps: number;
}

/**
 * One other velo instance sharing this one's Redis (`cluster.redis`), as its last heartbeat
 * described it (src/cluster/redis/peer-directory.ts).
 */
export interface PeerSummary {
  /** Its `cluster.instance` (default `hostname:port`). */
  instance: string;
  version: string;
  /** Its client-facing address, e.g. `http://10.0.0.5:8080`. */
  listen: string;
  /** Its admin API, e.g. `http://127.0.0.1:8407`; null when disabled. */
  admin: string | null;
  /** Wall-clock ms of its start. */
  startedAt: number;
  uptimeMs: number;
  pools: ReadonlyArray<{
    name: string;
    strategy: StrategyName;
    backends: ReadonlyArray<{ id: string; name: string; state: BackendState; inFlight: number; weight: number }>;
  }>;
  totals: { requests: number; inFlight: number; rps: number };
}

/** A peer with how fresh the news is: `silent` once three heartbeats (6 s by default) are missing. */
export interface PeerSnapshot extends PeerSummary {
  /** Ms since its last heartbeat (as of this snapshot). */
  ageMs: number;
  state: 'up' | 'silent';
}

/** This instance's place among many (present only with `cluster.redis`). */
export interface ClusterStatus {
  /** Its name among its peers. */
  instance: string;
  /** True while Redis answers and the last resync succeeded; false = serving on local state. */
  connected: boolean;
  /** `cluster.redis` with the password hidden. */
  redis: string;
  /** Rate-limit decisions taken from the local buckets because Redis was down, failed or slow. */
  rateLimitFallbacks: number;
  /** Own runtime changes Redis has not stored yet (pushed on reconnect). */
  pendingChanges: number;
}

export interface EngineSnapshot {
  version: string;
  /** Wall-clock ms when the snapshot was taken. */
  takenAt: number;
  startedAt: number;
  uptimeMs: number;
  /** `http2`: HTTP/2 offered besides HTTP/1.1, by ALPN (`h2`, TLS) or prior knowledge (`h2c`). */
  listen: { host: string; port: number; tls: boolean; http2?: 'h2' | 'h2c' };
  admin?: { host: string; port: number };
  pools: readonly PoolSnapshot[];
  totals: {
    requests: number;
    success: number;
    failed: number;
    /** velo's own 4xx answers (403, 404, 429, 400); `requests = success + failed + rejected`. */
    rejected: number;
    retries: number;
    rateLimited: number;
    rps: number;
    /** Fraction of requests in the last tick answered with 5xx (0..1). */
    errorRate: number;
    inFlight: number;
  };
  /** Total rps per tick, oldest first. */
  rpsHistory: readonly number[];
  events: readonly EngineEvent[];
  configSource?: string;
  /** Runtime changes (add, remove, weight, strategy, drain, maintenance) not in the config file. */
  runtimeChanges: number;
  /** The forwarding workers, when there is more than one (`--workers`); absent in one process. */
  workers?: { count: number; restarts: number; list: readonly WorkerView[] };
  shuttingDown: boolean;
  /** With `cluster.redis`: this instance's name and link state. */
  cluster?: ClusterStatus;
  /** With `cluster.redis`: the other instances, by name. */
  peers?: readonly PeerSnapshot[];
}
