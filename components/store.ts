/**
 * What the dashboard reads and calls: a store of engine snapshots, a store of recent log
 * lines, and the control operations. Both stores live outside React and are read with
 * `useSyncExternalStore`; they publish on the sampler's fixed tick, never per request.
 */
import type { Actor } from '../src/engine/control.js';
import type { EngineSnapshot } from '../src/metrics/snapshot.js';
import type { FilterableRecord, RecordFilter } from '../src/metrics/record-filter.js';

/** A source of frozen engine snapshots that notifies its subscribers on each new one. */
export interface SnapshotStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): EngineSnapshot;
}

/** One line of the live log pane: an access-log record or a log line velo would have printed. */
export interface LogEntry {
  /** Wall-clock ms. */
  at: number;
  kind: 'access' | 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  text: string;
  /** An access entry's request, for the pane's `/` filter (src/metrics/record-filter.ts). */
  record?: FilterableRecord;
}

/** Recent log entries (oldest first); `setLive(true)` starts capturing the access log, which costs the proxy a little. */
export interface LogStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): readonly LogEntry[];
  setLive(live: boolean): void;
  /**
   * From now on keep only the requests `filter` matches (undefined: all), so the pane's few
   * hundred lines are matching ones rather than whatever came last. Optional: a store without
   * it is filtered by the pane alone.
   */
  setFilter?(filter: RecordFilter | undefined): void;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The control operations the dashboard's keys call (`Control` itself, or a proxy to it from
 * the worker thread); each fails with an error whose message is fit to show inline.
 */
export interface DashboardControl {
  addBackend(pool: string, input: { url: string; weight?: number }, actor: Actor): MaybePromise<{ name: string; weight: number }>;
  removeBackend(pool: string, ref: string, actor: Actor): MaybePromise<unknown>;
  drain(pool: string, ref: string, actor: Actor): MaybePromise<unknown>;
  undrain(pool: string, ref: string, actor: Actor): MaybePromise<unknown>;
  setWeight(pool: string, ref: string, weight: number, actor: Actor): MaybePromise<{ weight: number }>;
  setStrategy(pool: string, name: string, actor: Actor): MaybePromise<string>;
  /** Takes a backend out of rotation for everyone (`on`), health checks still running, or puts it back. */
  setMaintenance(pool: string, ref: string, on: boolean, actor: Actor): MaybePromise<unknown>;
  /** The runtime changes not in the config file, oldest first; `change` says each in words. */
  configDiff(): MaybePromise<ReadonlyArray<{ change: string }>>;
  /** Writes the runtime changes into the config file, keeping its comments; fails without a file, on a conflict, or if the result would not validate. */
  saveConfig(actor: Actor): MaybePromise<SaveView>;
  /** One request to stop velo, counted by the stop rule (src/cli/drain-guard.ts): drain, then warn, then cut. */
  stop(source: StopSource): MaybePromise<unknown>;
  /** Sends `count` requests through the balancer (`velo make-request -n count`) and resolves with what came back. */
  /** `pool`: the pool on screen, whose path and host the requests take. */
  sendTestRequests(count: number, pool?: string): MaybePromise<TestRequestsResult>;
}

/** What a save wrote (the part of `SaveResult` the dashboard shows). */
export interface SaveView {
  file: string;
  saved: number;
  changes: readonly string[];
}

/** The key that asked to stop. */
export type StopSource = 'q' | 'ctrl-c';

/** What `t` shows: the answers per backend and per status code, errors without an answer, and latency. */
export interface TestRequestsResult {
  sent: number;
  success: number;
  fails: number;
  elapsedMs: number;
  /** Backend name (its X-Backend header) and answers, most first. */
  backends: ReadonlyArray<readonly [string, number]>;
  codes: ReadonlyArray<readonly [number, number]>;
  errors: ReadonlyArray<readonly [string, number]>;
  p50Ms: number;
  p99Ms: number;
}

/** Where a drain stands (mirrors `DrainState` of src/cli/drain-guard.ts). */
export interface DrainView {
  /** Stop requests so far: 1 = draining, 2 = the next one cuts, 3+ = forced. */
  stops: number;
  beganAt: number;
  deadlineAt: number;
  forced: boolean;
}

/** The drain in progress, undefined until velo begins to stop. */
export interface DrainStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): DrainView | undefined;
}

/** The name of a control operation, as sent between threads. */
export type ControlMethod = keyof DashboardControl;

/** The part of the engine a snapshot store needs: its current snapshot and the sampler's tick. */
export interface SnapshotSource {
  readonly snapshot: EngineSnapshot;
  readonly sampler: { subscribe(listener: (snapshot: EngineSnapshot) => void): () => void };
}

/** Adapts an engine to a `SnapshotStore` that changes exactly when the sampler publishes. */
export function engineStore(source: SnapshotSource): SnapshotStore {
  return {
    subscribe: (listener) => source.sampler.subscribe(() => listener()),
    getSnapshot: () => source.snapshot,
  };
}
