/**
 * The dashboard's log pane source: the last few hundred access-log records and log lines in a
 * ring, turned into display entries once per sampler tick, never per request. The access-log
 * observer is attached only while the pane is live, so a hidden pane costs the proxy nothing.
 */
import type { RequestObserver, RequestRecord } from '../engine/request-record.js';
import type { LogSink } from '../log/logger.js';
import type { LogEntry, LogStore } from '../../components/store.js';
import { matchesRecord, type RecordFilter } from '../metrics/record-filter.js';

type Item = RequestRecord | LogEntry;

function accessEntry(r: RequestRecord): LogEntry {
  const backend = r.backendName ?? r.backend ?? '-';
  const flag = r.termination === '-' ? '' : ` ${r.termination}`;
  const level = r.status >= 500 ? 'error' : r.status >= 400 ? 'warn' : 'info';
  const record = { status: r.status, backend: r.backend, backendName: r.backendName, pool: r.pool, method: r.method, path: r.path, termination: r.termination, totalMs: r.totalMs, clientIp: r.clientIp };
  return { at: r.at, kind: 'access', level, text: `${r.method} ${r.path} ${r.status} ${backend} ${r.totalMs.toFixed(1)}ms${flag} ${r.clientIp}`, record };
}

function logEntry(line: string, level: LogEntry['level']): LogEntry {
  try {
    const { time, level: _level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    const at = typeof time === 'string' ? Date.parse(time) : Date.now();
    return { at: Number.isFinite(at) ? at : Date.now(), kind: 'log', level, text: [String(msg), ...extra].join(' ') };
  } catch {
    return { at: Date.now(), kind: 'log', level, text: line };
  }
}

/** A bounded, tick-published `LogStore` fed by the engine's request observers and the logger's sink. */
export class LogRing implements LogStore {
  private readonly items: Array<Item | undefined>;
  private next = 0;
  private dirty = false;
  private entries: readonly LogEntry[] = Object.freeze([]);
  private listeners = new Set<() => void>();
  private filter: RecordFilter | undefined;

  constructor(
    private readonly observers: RequestObserver[],
    private readonly capacity = 200,
  ) {
    this.items = new Array<Item | undefined>(capacity);
  }

  /** A logger sink that keeps each line for the pane instead of printing it. */
  readonly sink: LogSink = (line, level) => this.push(logEntry(line, level));

  private readonly tap: RequestObserver = (record) => {
    if (this.filter === undefined || matchesRecord(this.filter, record)) this.push(record);
  };

  /**
   * Keeps only the requests `filter` matches from now on (what is held stays; the pane filters
   * that itself). velo's own log lines are kept either way.
   */
  readonly setFilter = (filter: RecordFilter | undefined): void => {
    this.filter = filter;
  };

  private push(item: Item): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.dirty = true;
  }

  /** Builds the entries from what arrived since the last call and notifies subscribers; call it on each tick. */
  publish(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const entries: LogEntry[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const at = (this.next + k) % this.capacity;
      const item = this.items[at];
      if (item === undefined) continue;
      const entry = 'kind' in item ? item : accessEntry(item);
      this.items[at] = entry;
      entries.push(entry);
    }
    this.entries = Object.freeze(entries);
    for (const listener of this.listeners) listener();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): readonly LogEntry[] => this.entries;

  readonly setLive = (live: boolean): void => {
    const at = this.observers.indexOf(this.tap);
    if (live && at === -1) this.observers.push(this.tap);
    if (!live && at !== -1) this.observers.splice(at, 1);
  };
}
