/**
 * The one way UI tests render the dashboard: `App` over a fake snapshot store (hand-built
 * snapshots) and a spy control that records every call and can be told to throw, typed at
 * through ink-testing-library's stdin, read back as plain-text frames.
 */
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { App } from '../../components/App.js';
import { mountDashboard } from '../../components/mount.js';
import type { DashboardControl, DrainStore, DrainView, LogEntry, LogStore, SaveView, SnapshotStore, StopSource, TestRequestsResult } from '../../components/store.js';
import type { StrategyName } from '../../src/config/types.js';
import type { Upstream } from '../../src/upstream/upstream.js';
import type { BackendSnapshot, EngineSnapshot, PoolSnapshot } from '../../src/metrics/snapshot.js';
import type { EngineEvent } from '../../src/metrics/event-log.js';

/** Key sequences as a terminal sends them. */
export const KEYS = {
  up: '\u001B[A',
  down: '\u001B[B',
  left: '\u001B[D',
  right: '\u001B[C',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  home: '\u001B[H',
  end: '\u001B[F',
  tab: '\t',
  escape: '\u001B',
  enter: '\r',
  backspace: '\u007F',
  ctrlC: '\u0003',
  ctrlU: '\u0015',
  ctrlW: '\u0017',
} as const;

/** A backend snapshot named `name` on 127.0.0.1:`port`, healthy and idle unless overridden. */
export function backend(name: string, port: number, overrides: Partial<BackendSnapshot> = {}): BackendSnapshot {
  const url = `http://127.0.0.1:${port}`;
  return {
    id: url,
    name,
    url,
    source: 'config',
    state: 'healthy',
    health: 'healthy',
    circuit: 'closed',
    draining: false,
    maintenance: false,
    ejected: false,
    weight: 1,
    effectiveWeight: 1,
    rampPercent: 100,
    inFlight: 0,
    tunnels: 0,
    maxConnections: 0,
    requests: 120,
    failures: 0,
    status: { '2xx': 120, '3xx': 0, '4xx': 0, '5xx': 0 },
    rps: 4,
    rpsHistory: [1, 3, 4, 2, 5, 4],
    p50Ms: 4.2,
    p99Ms: 18,
    ...overrides,
  };
}

/** `count` healthy backends b1..bN on ports 9001.. */
export function backends(count: number): BackendSnapshot[] {
  return Array.from({ length: count }, (_, i) => backend(`b${i + 1}`, 9001 + i));
}

/** A pool for `snapshot`; name and strategy default to `default` and round-robin. */
export interface PoolSpec {
  name?: string;
  strategy?: StrategyName;
  backends: BackendSnapshot[];
}

/** An engine snapshot with the given pools (first one named `default`) and events. */
export function snapshot(pools: PoolSpec[], events: EngineEvent[] = []): EngineSnapshot {
  const built: PoolSnapshot[] = pools.map((p, i) => ({
    name: p.name ?? (i === 0 ? 'default' : `pool${i + 1}`),
    strategy: p.strategy ?? 'round-robin',
    match: {},
    backends: p.backends,
    healthyCount: p.backends.filter((b) => b.state === 'healthy').length,
    queueDepth: 0,
    rps: p.backends.reduce((n, b) => n + b.rps, 0),
  }));
  return {
    version: '9.9.9',
    takenAt: 1_000_000,
    startedAt: 1_000_000 - 65_000,
    uptimeMs: 65_000,
    listen: { host: '127.0.0.1', port: 8080, tls: false },
    pools: built,
    totals: { requests: 1000, success: 990, failed: 10, rejected: 0, retries: 0, rateLimited: 0, rps: 12, errorRate: 0.01, inFlight: 0 },
    rpsHistory: [10, 12, 11, 14, 12, 13],
    events,
    shuttingDown: false,
    runtimeChanges: 0,
  };
}

/** A snapshot store whose snapshot the test replaces with `set`. */
export class FakeStore implements SnapshotStore {
  private listeners = new Set<() => void>();
  constructor(private current: EngineSnapshot) {}
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  readonly getSnapshot = (): EngineSnapshot => this.current;
  set(next: EngineSnapshot): void {
    this.current = next;
    for (const l of this.listeners) l();
  }
}

/** A log store with fixed entries that records `setLive` calls. */
export class FakeLogs implements LogStore {
  readonly live: boolean[] = [];
  constructor(private readonly entries: LogEntry[] = []) {}
  readonly subscribe = (): (() => void) => () => {};
  readonly getSnapshot = (): readonly LogEntry[] => this.entries;
  readonly setLive = (live: boolean): void => void this.live.push(live);
}

/** A control operation the spy records. */
export type ControlMethod = keyof DashboardControl;
/** One recorded control call. */
export interface Call {
  method: ControlMethod;
  args: unknown[];
}

/** Records each control call; `failWith` makes a method throw instead (e.g. a VeloError). */
export class SpyControl implements DashboardControl {
  readonly calls: Call[] = [];
  private readonly failures = new Map<ControlMethod, Error>();

  failWith(method: ControlMethod, err: Error): void {
    this.failures.set(method, err);
  }

  private record(method: ControlMethod, args: unknown[], name: string, weight = 1): Upstream {
    this.calls.push({ method, args });
    const err = this.failures.get(method);
    if (err !== undefined) throw err;
    return { name, weight } as Upstream;
  }

  addBackend(pool: string, input: { url: string; weight?: number }, actor?: string): Upstream {
    return this.record('addBackend', [pool, input, actor], input.url.replace(/^https?:\/\//, ''), input.weight);
  }
  removeBackend(pool: string, ref: string, actor?: string): Upstream {
    return this.record('removeBackend', [pool, ref, actor], ref);
  }
  drain(pool: string, ref: string, actor?: string): Upstream {
    return this.record('drain', [pool, ref, actor], ref);
  }
  undrain(pool: string, ref: string, actor?: string): Upstream {
    return this.record('undrain', [pool, ref, actor], ref);
  }
  setWeight(pool: string, ref: string, weight: number, actor?: string): Upstream {
    return this.record('setWeight', [pool, ref, weight, actor], ref, weight);
  }
  setStrategy(pool: string, name: string, actor?: string): StrategyName {
    this.record('setStrategy', [pool, name, actor], pool);
    return name as StrategyName;
  }
  setMaintenance(pool: string, ref: string, on: boolean, actor?: string): Upstream {
    return this.record('setMaintenance', [pool, ref, on, actor], ref);
  }
  /** The runtime changes `configDiff` answers with, in words; set by the test. */
  changes: string[] = [];
  configDiff(): Array<{ change: string }> {
    this.record('configDiff', [], '');
    return this.changes.map((change) => ({ change }));
  }
  /** The file `saveConfig` says it wrote. */
  configFile = '/etc/velo/velo.yaml';
  /** Resolves after the worker's round trip, as from the dashboard's thread. */
  async saveConfig(actor?: string): Promise<SaveView> {
    await new Promise((r) => setImmediate(r));
    this.record('saveConfig', [actor], '');
    return { file: this.configFile, saved: this.changes.length, changes: this.changes };
  }
  stop(source: StopSource): void {
    this.record('stop', [source], '');
  }
  /** What `sendTestRequests` resolves with; set by the test. */
  testResult: TestRequestsResult = { sent: 0, success: 0, fails: 0, elapsedMs: 0, backends: [], codes: [], errors: [], p50Ms: 0, p99Ms: 0 };
  async sendTestRequests(count: number, pool?: string): Promise<TestRequestsResult> {
    this.record('sendTestRequests', [count, pool], '');
    return this.testResult;
  }
}

/** A drain store the test sets, as the proxy thread would when velo begins to stop. */
export class FakeDrain implements DrainStore {
  private listeners = new Set<() => void>();
  private current: DrainView | undefined;
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  readonly getSnapshot = (): DrainView | undefined => this.current;
  set(next: DrainView): void {
    this.current = next;
    for (const l of this.listeners) l();
  }
}

/** Terminal size and optional title and log source for `renderDashboard`. */
export interface RenderOptions {
  columns?: number;
  rows?: number;
  title?: string[];
  logs?: LogStore;
  drain?: DrainStore;
  /** False renders as under NO_COLOR; default true. */
  color?: boolean;
}

/** Polls `check` every few ms until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Renders the dashboard at `columns` x `rows` (default 100x30); returns the store, the spy and helpers to type and read. */
export async function renderDashboard(first: EngineSnapshot, options: RenderOptions = {}) {
  const store = new FakeStore(first);
  const control = new SpyControl();
  // createElement rather than JSX: tsx applies tsconfig.json's jsx setting only to the files it includes, and test/ is not one.
  const ui = render(createElement(App, { store, control, logs: options.logs, title: options.title, drain: options.drain, color: options.color ?? true }));
  /**
   * Changes the terminal's size the way a terminal does (new columns and rows, then a resize
   * event), then publishes a snapshot copy so that a frame is drawn at the new size, and waits for it.
   */
  const resize = async (columns: number, rows: number): Promise<void> => {
    Object.defineProperty(ui.stdout, 'columns', { value: columns, configurable: true });
    Object.defineProperty(ui.stdout, 'rows', { value: rows, configurable: true });
    ui.stdout.emit('resize');
    const before = ui.frames.length;
    store.set({ ...store.getSnapshot() });
    await eventually(() => ui.frames.length > before, `a frame at ${columns}x${rows}`);
  };
  await resize(options.columns ?? 100, options.rows ?? 30);
  const frame = (): string => stripVTControlCharacters(ui.lastFrame() ?? '');
  const lines = (): string[] => frame().split('\n');
  const waitFor = (test: RegExp | ((frame: string) => boolean), what = String(test)): Promise<string> =>
    eventually(() => {
      const f = frame();
      return (typeof test === 'function' ? test(f) : test.test(f)) ? f : undefined;
    }, what).catch((err: Error) => {
      throw new Error(`${err.message}; last frame:\n${frame()}`);
    });
  /** Types `keys`, letting Ink read each one before the next. */
  const press = async (...keys: string[]): Promise<void> => {
    for (const key of keys) {
      ui.stdin.write(key);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
  };
  const waitForCalls = (n: number): Promise<Call[]> => eventually(() => (control.calls.length >= n ? control.calls : undefined), `${n} control call(s)`);
  /** The last frame with its escape sequences (colours), for the NO_COLOR test. */
  const rawFrame = (): string => ui.lastFrame() ?? '';
  return { store, control, frame, rawFrame, lines, press, resize, waitFor, waitForCalls, unmount: ui.unmount };
}

class FakeTty extends EventEmitter {
  isTTY = true;
  columns = 100;
  rows = 30;
  data: string | null = null;
  write = (_chunk: string): boolean => true;
  setEncoding(): void {}
  setRawMode(): void {}
  ref(): void {}
  unref(): void {}
  resume(): void {}
  pause(): void {}
  read = (): string | null => {
    const { data } = this;
    this.data = null;
    return data;
  };
  type(data: string): void {
    this.data = data;
    this.emit('readable');
  }
}

/** Mounts the dashboard as `velo` does (mountDashboard) on fake TTY streams; `type` sends keys, `exited` settles on quit. */
export function mountOnFakeTty(first: EngineSnapshot) {
  const tty = new FakeTty();
  const control = new SpyControl();
  const handle = mountDashboard({ store: new FakeStore(first), control }, tty as unknown as NodeJS.WriteStream, tty as unknown as NodeJS.ReadStream);
  return { control, type: (keys: string) => tty.type(keys), exited: handle.waitUntilExit(), unmount: handle.unmount };
}
