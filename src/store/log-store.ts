/**
 * The log store's writer as the engine sees it: `observe` (a request observer) and `addEvent`
 * queue rows in memory in O(1); every `CHUNK_ROWS` requests the rows are encoded as one JSON
 * text into a ring of memory shared with the writer thread (chunk-ring.ts), and every
 * `flushEveryMs` (250 ms) the queue is handed to that thread (store-writer.ts), which writes it
 * in one transaction. The request path never waits for SQLite: while the thread is still busy
 * with the previous batch the queue grows, and past `maxQueued` rows or `ringBytes` of chunks
 * new ones are dropped and counted (`dropped`, exported as `velo_log_store_dropped_total`).
 * Retention (by time and size) runs on the same thread when `retention` is given (the control
 * plane only).
 */
import { Worker } from 'node:worker_threads';
import type { LogStoreConfig } from '../config/types.js';
import type { RequestRecord } from '../engine/request-record.js';
import type { EngineEvent } from '../metrics/event-log.js';
import type { Logger } from '../log/logger.js';
import { eventRow, RequestChunkBuilder, type Row } from './rows.js';
import { ChunkRing } from './chunk-ring.js';
import type { RingChunk, WriterData, WriterMessage } from './store-writer.js';

/** Options of `LogStore.open`; every default is here. */
export interface LogStoreOptions {
  path: string;
  logger: Logger;
  /** How often the queue is written; ms. */
  flushEveryMs?: number;
  /** Rows held while the writer is busy; beyond, rows are dropped and counted. */
  maxQueued?: number;
  /** Bytes of request chunks (UTF-8 JSON) held for the writer; beyond, chunks are dropped and counted. */
  ringBytes?: number;
  /** SQLite waits this long for another process's write lock; ms. */
  busyTimeoutMs?: number;
  /** Delete by time and size every `everyMs` (control plane only); off when undefined. */
  retention?: Pick<LogStoreConfig, 'retentionMs' | 'maxBytes'> & { everyMs?: number };
  /** Wall clock for retention (ms since the epoch); injected by tests. */
  wallClock?: () => number;
  /** Test hook: each batch's transaction takes at least this long; ms. */
  slowFlushMs?: number;
}

export const LOG_STORE_DEFAULTS = Object.freeze({
  flushEveryMs: 250,
  maxQueued: 50_000,
  // 50,000 rows of about 180 bytes; 8 MiB of shared memory per process that stores requests.
  ringBytes: 8 * 1024 * 1024,
  busyTimeoutMs: 5000,
  retentionEveryMs: 60_000,
});

/**
 * Request rows per chunk: each is encoded into the ring as soon as it is full, spreading that
 * work over the 250 ms instead of one pause per batch (p99).
 */
export const CHUNK_ROWS = 256;

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

interface Reply {
  t: 'done';
  id: number;
  deleted?: number;
  error?: string;
}

/** The writer thread's module and flags: the .ts source through tsx (tests), the built .js otherwise. */
function startWriter(data: WriterData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./store-writer.js', import.meta.url), { workerData: data });
  // tsx's loader hooks do not reach worker threads on Node 20: register them in the thread first.
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const writer = JSON.stringify(new URL('./store-writer.ts', import.meta.url).href);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${writer}); });`, { eval: true, workerData: data });
}

/** A running log store writer. Open with `LogStore.open`; `close()` writes what is queued. */
export class LogStore {
  private readonly requests = new RequestChunkBuilder();
  private events: Row[] = [];
  private droppedRows = 0;
  private written = 0;
  private inflight: Promise<void> | undefined;
  private closed = false;
  private dead = false;
  /** Chunks in the ring for the next batch, and their rows. */
  private chunks: RingChunk[] = [];
  private handedOver = 0;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void }>();
  private readonly flushTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  private readonly maxQueued: number;
  private readonly wallClock: () => number;
  private lastError: string | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly ring: ChunkRing,
    private readonly options: LogStoreOptions,
  ) {
    this.maxQueued = options.maxQueued ?? LOG_STORE_DEFAULTS.maxQueued;
    this.wallClock = options.wallClock ?? Date.now;
    worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      // Referenced only while an answer is awaited: an idle store never keeps the process alive.
      if (this.waiting.size === 0) worker.unref();
      w?.resolve(r);
    });
    worker.on('error', (err) => {
      options.logger.error('log store writer failed; records are no longer stored', { path: options.path, err });
      this.closed = true;
      this.dead = true;
      for (const w of this.waiting.values()) w.resolve({ t: 'done', id: -1, error: err.message });
      this.waiting.clear();
    });
    worker.unref();
    this.flushTimer = setInterval(() => void this.writeQueued(), options.flushEveryMs ?? LOG_STORE_DEFAULTS.flushEveryMs);
    this.flushTimer.unref();
    const retention = options.retention;
    if (retention !== undefined) {
      this.retentionTimer = setInterval(() => void this.enforceRetention(), retention.everyMs ?? LOG_STORE_DEFAULTS.retentionEveryMs);
      this.retentionTimer.unref();
    }
  }

  /**
   * Starts the writer thread without waiting for it: a database that cannot be opened is logged
   * and its rows counted as dropped. For forwarding workers, which must not wait at start-up.
   */
  static start(options: LogStoreOptions): LogStore {
    const ring = new ChunkRing(options.ringBytes ?? LOG_STORE_DEFAULTS.ringBytes);
    return new LogStore(startWriter(LogStore.writerData(options, ring)), ring, options);
  }

  /**
   * Starts the writer thread on `options.path` (created and migrated when needed). Rejects when
   * the database cannot be opened (a bad path, a schema from a newer velo).
   */
  static async open(options: LogStoreOptions): Promise<LogStore> {
    const ring = new ChunkRing(options.ringBytes ?? LOG_STORE_DEFAULTS.ringBytes);
    const store = new LogStore(startWriter(LogStore.writerData(options, ring)), ring, options);
    // An empty batch is the handshake: it answers once the database is open and migrated.
    const first = await store.send({ t: 'batch', requests: [], events: [] });
    if (first.error !== undefined) {
      await store.close();
      throw new Error(`cannot open log store ${options.path}: ${first.error}`);
    }
    return store;
  }

  /** A request observer: queues the record's row (O(1)), or drops and counts it when the queue is full. */
  readonly observe = (record: RequestRecord): void => {
    if (this.closed) return;
    if (this.queued >= this.maxQueued) return this.drop();
    this.requests.add(record);
    if (this.requests.length >= CHUNK_ROWS) this.stashChunk();
  };

  /** Queues one event (dropped and counted like a record when the queue is full). */
  addEvent(event: EngineEvent): void {
    if (this.closed || event.history === true) return;
    if (this.queued >= this.maxQueued) return this.drop();
    this.events.push(eventRow(event));
  }

  /** Rows dropped because the writer could not keep up. */
  get dropped(): number {
    return this.droppedRows;
  }

  /** Rows written so far. */
  get writtenRows(): number {
    return this.written;
  }

  /** Rows waiting for a write that has not begun (here, or in the ring since the last one began). */
  get queued(): number {
    return this.requests.length + this.events.length + this.handedOver;
  }

  /** Writes everything queued so far, after the batch the writer may be busy with; resolves when written. */
  async flush(): Promise<void> {
    while (this.inflight !== undefined) await this.inflight;
    await this.writeQueued();
  }

  /** The timer's turn: hands the queue to the writer unless it is still busy with the previous batch. */
  private writeQueued(): Promise<void> {
    if (this.inflight !== undefined || this.closed || this.queued === 0) return this.inflight ?? Promise.resolve();
    this.stashChunk();
    const requests = this.chunks;
    const events = this.events;
    const rows = this.handedOver + events.length;
    this.chunks = [];
    this.events = [];
    this.handedOver = 0;
    this.inflight = this.send({ t: 'batch', requests, events }).then((r) => {
      // Done or failed, the thread no longer reads these chunks.
      this.ring.free(requests.length);
      this.inflight = undefined;
      if (r.error === undefined) this.written += rows;
      else this.failed(r.error, rows);
    });
    return this.inflight;
  }

  /** Encodes the request rows queued so far into the ring for the next batch; drops and counts them when it is full. */
  private stashChunk(): void {
    const rows = this.requests.length;
    const chunk = this.requests.take();
    if (chunk === null) return;
    const range = this.ring.put(chunk.json);
    if (range === undefined) return this.drop(rows);
    this.chunks.push({ baseAt: chunk.baseAt, start: range.start, end: range.end });
    this.handedOver += rows;
  }

  /** Deletes what the retention settings say is too old or too much; resolves with the rows deleted. */
  async enforceRetention(): Promise<number> {
    const retention = this.options.retention;
    if (retention === undefined || this.closed) return 0;
    const r = await this.send({ t: 'retain', before: this.wallClock() - retention.retentionMs, maxBytes: retention.maxBytes });
    if (r.error !== undefined) this.options.logger.warn('log store retention failed', { path: this.options.path, error: r.error });
    return r.deleted ?? 0;
  }

  /** Writes what is queued (waiting for a busy writer first), then stops the thread. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.retentionTimer);
    if (!this.closed) {
      await this.flush();
      this.closed = true;
      await this.send({ t: 'close' });
    }
    if (this.droppedRows > 0) this.options.logger.warn('log store dropped rows', { path: this.options.path, dropped: this.droppedRows });
    await this.worker.terminate();
  }

  private drop(rows = 1): void {
    if (this.droppedRows === 0) this.options.logger.warn('log store cannot keep up; dropping records', { path: this.options.path });
    this.droppedRows += rows;
  }

  private failed(error: string, rows: number): void {
    this.droppedRows += rows;
    if (error !== this.lastError) this.options.logger.error('log store write failed; batch dropped', { path: this.options.path, error, rows });
    this.lastError = error;
  }

  private static writerData(options: LogStoreOptions, ring: ChunkRing): WriterData {
    return { path: options.path, busyTimeoutMs: options.busyTimeoutMs ?? LOG_STORE_DEFAULTS.busyTimeoutMs, slowFlushMs: options.slowFlushMs ?? 0, ring: ring.buffer };
  }

  private send(message: DistributiveOmit<WriterMessage, 'id'>): Promise<Reply> {
    const id = ++this.seq;
    if (this.dead) return Promise.resolve({ t: 'done', id, error: 'the writer thread has stopped' });
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      this.worker.ref();
      this.worker.postMessage({ ...message, id });
    });
  }
}
