/**
 * The log store's writer thread: owns one SQLite connection, writes each batch it is sent in
 * one transaction and deletes old rows when asked. Runs in a `worker_threads` Worker so that a
 * slow disk or a long transaction never blocks the event loop that forwards requests.
 *
 * Messages in: `{ t: 'rows', requests, events }` (held for the next batch, no answer),
 * `{ t: 'batch', id, requests, events }` (writes the held rows and these in one transaction),
 * where `requests` is one `RequestChunk` (null for none) and `events` rows,
 * `{ t: 'retain', id, before: ms, maxBytes }`, `{ t: 'close', id }`.
 * Messages out: `{ t: 'done', id, deleted?, error? }` for each, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareDatabase } from './schema.js';
import { EVENT_COLUMNS, REQUEST_INSERT_JSON, type RequestChunk, type Row } from './rows.js';
import { deleteForRetention } from './retention.js';

/** What the thread is started with. */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
  /** Test hook: each batch's transaction takes at least this long (a slow disk). */
  slowFlushMs: number;
}

/** What the store sends the thread. */
export type WriterMessage =
  | { t: 'rows'; requests: RequestChunk; events: Row[] }
  | { t: 'batch'; id: number; requests: RequestChunk | null; events: Row[] }
  | { t: 'retain'; id: number; before: number; maxBytes: number }
  | { t: 'close'; id: number };

const data = workerData as WriterData;
const db = new Database(data.path);
prepareDatabase(db, data.busyTimeoutMs);
const insertRequests = db.prepare(REQUEST_INSERT_JSON);
const insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`);
const writeBatch = db.transaction((requests: RequestChunk[], events: Row[]) => {
  for (const chunk of requests) insertRequests.run(chunk.baseAt, chunk.json);
  for (const e of events) insertEvent.run(e);
});
const sleeper = new Int32Array(new SharedArrayBuffer(4));
// Chunks handed over since the last batch; the next batch writes them first.
let heldRequests: RequestChunk[] = [];
let heldEvents: Row[] = [];

parentPort!.on('message', (m: WriterMessage) => {
  if (m.t === 'rows') {
    heldRequests.push(m.requests);
    for (const e of m.events) heldEvents.push(e);
    return;
  }
  try {
    if (m.t === 'batch') {
      const requests = heldRequests;
      if (m.requests !== null) requests.push(m.requests);
      const events = heldEvents.length === 0 ? m.events : heldEvents.concat(m.events);
      heldRequests = [];
      heldEvents = [];
      if (data.slowFlushMs > 0) Atomics.wait(sleeper, 0, 0, data.slowFlushMs);
      writeBatch.immediate(requests, events);
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
