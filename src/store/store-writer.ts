/**
 * The log store's writer thread: owns one SQLite connection, writes each batch it is sent in
 * one transaction and deletes old rows when asked. Runs in a `worker_threads` Worker so that a
 * slow disk or a long transaction never blocks the event loop that forwards requests.
 *
 * Messages in: `{ t: 'rows', requests, events }` (held for the next batch, no answer),
 * `{ t: 'batch', id, requests: Row[], events: Row[] }` (writes the held rows and these in one transaction),
 * `{ t: 'retain', id, before: ms, maxBytes }`, `{ t: 'close', id }`.
 * Messages out: `{ t: 'done', id, deleted?, error? }` for each, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareDatabase } from './schema.js';
import { EVENT_COLUMNS, REQUEST_COLUMNS, type Row } from './rows.js';
import { deleteForRetention } from './retention.js';

/** What the thread is started with. */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
  /** Test hook: each batch's transaction takes at least this long (a slow disk). */
  slowFlushMs: number;
}

type In =
  | { t: 'rows'; requests: Row[]; events: Row[] }
  | { t: 'batch'; id: number; requests: Row[]; events: Row[] }
  | { t: 'retain'; id: number; before: number; maxBytes: number }
  | { t: 'close'; id: number };

const data = workerData as WriterData;
const db = new Database(data.path);
prepareDatabase(db, data.busyTimeoutMs);
const insertRequest = db.prepare(`INSERT INTO requests (${REQUEST_COLUMNS.join(', ')}) VALUES (${REQUEST_COLUMNS.map(() => '?').join(', ')})`);
const insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`);
const writeBatch = db.transaction((requests: Row[], events: Row[]) => {
  for (const r of requests) insertRequest.run(r);
  for (const e of events) insertEvent.run(e);
});
const sleeper = new Int32Array(new SharedArrayBuffer(4));
// Rows handed over in chunks since the last batch; the next batch writes them first.
let heldRequests: Row[] = [];
let heldEvents: Row[] = [];

parentPort!.on('message', (m: In) => {
  if (m.t === 'rows') {
    for (const r of m.requests) heldRequests.push(r);
    for (const e of m.events) heldEvents.push(e);
    return;
  }
  try {
    if (m.t === 'batch') {
      const requests = heldRequests.length === 0 ? m.requests : heldRequests.concat(m.requests);
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
