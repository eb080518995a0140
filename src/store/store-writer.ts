/**
 * The log store's writer thread: owns one SQLite connection, writes each batch it is sent in
 * one transaction and deletes old rows when asked. Runs in a `worker_threads` Worker so that a
 * slow disk or a long transaction never blocks the event loop that forwards requests.
 *
 * Messages in: `{ t: 'batch', id, requests, events }` (writes them in one transaction), where
 * `requests` are chunks in the shared ring (`RingChunk`: chunk-ring.ts) and `events` rows,
 * `{ t: 'retain', id, before: ms, maxBytes }`, `{ t: 'close', id }`.
 * Messages out: `{ t: 'done', id, deleted?, error? }` for each, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareDatabase } from './schema.js';
import { EVENT_COLUMNS, REQUEST_INSERT_JSON, type Row } from './rows.js';
import type { ChunkRange } from './chunk-ring.js';
import { deleteForRetention } from './retention.js';

/** What the thread is started with. */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
  /** Test hook: each batch's transaction takes at least this long (a slow disk). */
  slowFlushMs: number;
  /** The ring the store writes request chunks into (`ChunkRing.buffer`). */
  ring: SharedArrayBuffer;
}

/** A chunk of request rows in the ring: its UTF-8 JSON is `ring[start, end)`. */
export interface RingChunk extends ChunkRange {
  baseAt: number;
}

/** What the store sends the thread. */
export type WriterMessage =
  | { t: 'batch'; id: number; requests: RingChunk[]; events: Row[] }
  | { t: 'retain'; id: number; before: number; maxBytes: number }
  | { t: 'close'; id: number };

const data = workerData as WriterData;
const db = new Database(data.path);
prepareDatabase(db, data.busyTimeoutMs);
// Each chunk's INSERT ... SELECT keeps a statement journal (the pages it changes, in case it
// fails halfway); in a temp file that was a write call per page, about 15% of the insert's CPU.
db.pragma('temp_store = MEMORY');
const insertRequests = db.prepare(REQUEST_INSERT_JSON);
const insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`);
const ring = new Uint8Array(data.ring);
const writeBatch = db.transaction((requests: RingChunk[], events: Row[]) => {
  // A view of the shared bytes, bound as a blob (copied by SQLite): no string on this thread.
  for (const c of requests) insertRequests.run(c.baseAt, ring.subarray(c.start, c.end));
  for (const e of events) insertEvent.run(e);
});
const sleeper = new Int32Array(new SharedArrayBuffer(4));

parentPort!.on('message', (m: WriterMessage) => {
  try {
    if (m.t === 'batch') {
      if (data.slowFlushMs > 0) Atomics.wait(sleeper, 0, 0, data.slowFlushMs);
      writeBatch.immediate(m.requests, m.events);
      parentPort!.postMessage({ t: 'done', id: m.id });
    } else if (m.t === 'retain') {
      const deleted = deleteForRetention(db, m.before, m.maxBytes);
      parentPort!.postMessage({ t: 'done', id: m.id, deleted });
    } else {
      db.close();
      parentPort!.postMessage({ t: 'done', id: m.id });
    }
  } catch (err) {
    parentPort!.postMessage({ t: 'done', id: m.id, error: (err as Error).message });
  }
});
