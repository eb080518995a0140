import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { Logger } from '../../src/log/logger.js';
import { LogStore } from '../../src/store/log-store.js';
import { ChunkRing } from '../../src/store/chunk-ring.js';
import { LogReader } from '../../src/store/log-reader.js';
import { FilterError, logsWhere, parseEventFilter, parseLogFilter } from '../../src/store/log-filter.js';
import { MIGRATIONS, PAGE_SIZE, SCHEMA_VERSION } from '../../src/store/schema.js';
import { REQUEST_FIELDS } from '../../src/store/rows.js';
import { parseSpan } from '../../src/config/parse-duration.js';

const logger = new Logger('silent');
const NOW = Date.parse('2026-11-30T12:00:00Z');

async function tempDb(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'logs.db');
}

function record(i: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: `r${i}`, at: NOW - 1000 + i, clientIp: '10.0.0.1', method: 'GET', path: `/api/item/${i}`, host: 'example.test', status: 200,
    pool: 'default', backend: 'http://127.0.0.1:9001', backendName: 'b1', attempts: 1, upstreamMs: 1.25, totalMs: 2 + (i % 10), bytesIn: 0, bytesOut: 100,
    termination: '-', ...over,
  };
}

test('a store keeps every record and event across a reopen, with WAL and the current schema version', async (t) => {
  const path = await tempDb(t);
  const store = await LogStore.open({ path, logger });
  for (let i = 0; i < 2000; i++) store.observe(record(i, i % 4 === 0 ? { status: 502, backendName: 'b2', backend: 'http://127.0.0.1:9002', termination: 'UF', traceId: 'a'.repeat(32) } : {}));
  store.addEvent({ seq: 1, at: NOW, kind: 'admin', level: 'info', message: 'drain b2 (by admin-api)' });
  await store.close();
  t.is(store.dropped, 0);
  const again = await LogStore.open({ path, logger });
  again.observe(record(5000));
  await again.close();
  const db = new Database(path, { readonly: true });
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(db.pragma('page_size', { simple: true }), PAGE_SIZE);
  t.is(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  db.close();
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  t.is(reader.stats(parseLogFilter({}, NOW), ['backend']).reduce((n, g) => n + g.count, 0), 2001);
  const failed = reader.requests(parseLogFilter({ status: '5xx', limit: '10000' }, NOW));
  t.is(failed.items.length, 500);
  t.true(failed.items.every((r) => r.status === 502 && r.backend_name === 'b2' && r.termination === 'UF' && r.trace_id === 'a'.repeat(32)));
  t.deepEqual(reader.events(parseEventFilter({ kind: 'admin' }, NOW)).items.map((e) => e.message), ['drain b2 (by admin-api)']);
});

test('rows cross to the writer as JSON and come back exactly: quotes, backslashes, non-ASCII, nulls, big and fractional numbers, in order', async (t) => {
  const path = await tempDb(t);
  const store = await LogStore.open({ path, logger });
  const odd: RequestRecord = {
    ...record(0), id: 'id"with\\quote', path: '/a"b\\c/\u00e9/\u65e5\u672c?q=</script>&x=\u2028', host: undefined, pool: undefined, backend: undefined, backendName: undefined,
    upstreamMs: -1, totalMs: 1234.56789, bytesIn: 2 ** 40, bytesOut: 0, status: 499, termination: 'DC', clientIp: '::ffff:10.0.0.1',
  };
  store.observe(odd);
  // More than one chunk (256 rows) and a partial one: ids follow the order of observe().
  for (let i = 1; i <= 600; i++) store.observe(record(i, { traceId: i.toString(16).padStart(32, '0') }));
  await store.close();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const first = db.prepare('SELECT * FROM requests ORDER BY id LIMIT 1').get() as Record<string, unknown>;
  t.deepEqual(first, {
    id: 1, at: odd.at, request_id: 'id"with\\quote', client_ip: '::ffff:10.0.0.1', method: 'GET', host: null, path: odd.path, status: 499, pool: null, backend: null,
    backend_name: null, attempts: 1, upstream_ms: null, total_ms: 1234.568, bytes_in: 2 ** 40, bytes_out: 0, termination: 'DC', trace_id: null,
  });
  const types = db.prepare('SELECT typeof(at) a, typeof(status) s, typeof(total_ms) t, typeof(upstream_ms) u, typeof(bytes_in) b FROM requests WHERE id = 2').get();
  t.deepEqual(types, { a: 'integer', s: 'integer', t: 'real', u: 'real', b: 'integer' }, 'the column types of bound values (a whole 3 ms is REAL)');
  const stored = JSON.parse(db.prepare('SELECT json(fields) FROM request_rows ORDER BY id LIMIT 1').pluck().get() as string) as unknown[];
  t.deepEqual(Object.fromEntries(REQUEST_FIELDS.map((f, i) => [f, stored[i]])), {
    at_offset: 0, request_id: 'id"with\\quote', client_ip: '::ffff:10.0.0.1', method: 'GET', host: null, path: odd.path, status: 499, pool: null, backend: null,
    backend_name: null, attempts: 1, upstream_us: null, total_us: 1_234_568, bytes_in: 2 ** 40, bytes_out: 0, termination: 'DC', trace_id: null,
  }, 'the stored array, as sqlite3 users see it in request_rows');
  const ids = db.prepare('SELECT request_id FROM requests ORDER BY id').pluck().all();
  t.deepEqual(ids, ['id"with\\quote', ...Array.from({ length: 600 }, (_, i) => `r${i + 1}`)]);
  t.is(db.prepare('SELECT trace_id FROM requests WHERE request_id = ?').pluck().get('r600'), (600).toString(16).padStart(32, '0'));
});

test('a version 1 store (17 columns) is read as it is and, on open, migrated with every row kept exactly; new rows follow its ids', async (t) => {
  const path = await tempDb(t);
  const v1 = new Database(path);
  v1.pragma('journal_mode = WAL');
  v1.exec(MIGRATIONS[0]!);
  v1.pragma('user_version = 1');
  const insert = v1.prepare(`INSERT INTO requests (at, request_id, client_ip, method, host, path, status, pool, backend, backend_name, attempts, upstream_ms, total_ms, bytes_in, bytes_out, termination, trace_id)
    VALUES (?, ?, '10.0.0.1', ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?, ?)`);
  const old: unknown[][] = [
    [NOW - 3000, 'old-1', 'GET', 'example.test', '/a "quoted" \\ path/\u00e9', 200, 'default', 'http://127.0.0.1:9001', 'b1', 1.234, 2.5, 100, '-', 'f'.repeat(32)],
    [NOW - 2000, 'old-2', 'POST', null, '/b', 502, null, null, null, null, 30000.001, 7, 'UF', null],
    [NOW - 1000, 'old-3', 'GET', 'example.test', '/c', 404, 'default', 'http://127.0.0.1:9002', 'b2', 0.001, 0.002, 2 ** 40, 'DC', null],
  ];
  for (const r of old) insert.run(...r);
  const before = v1.prepare('SELECT * FROM requests ORDER BY id').all();
  v1.close();
  // The CLI may read a file the velo that wrote it left at version 1: same columns, same rows.
  const early = new LogReader(path);
  t.deepEqual(early.requests(parseLogFilter({ status: '5xx' }, NOW)).items.map((r) => r.request_id), ['old-2']);
  early.close();

  const store = await LogStore.open({ path, logger });
  store.observe(record(9, { at: NOW }));
  await store.close();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.is(db.pragma('page_size', { simple: true }), 4096, 'an existing file keeps its page size');
  const all = db.prepare('SELECT * FROM requests ORDER BY id').all() as Array<Record<string, unknown>>;
  t.deepEqual(all.slice(0, 3), before, 'every column of every old row, nulls and fractions included');
  t.deepEqual(all.slice(3).map((r) => [r.id, r.request_id]), [[4, 'r9']]);
  const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
  t.deepEqual(indexes, ['events_at', 'request_rows_at']);
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT count(*) FROM requests WHERE at >= ?').all(NOW).map((r) => (r as { detail: string }).detail).join('; ');
  t.regex(plan, /USING COVERING INDEX request_rows_at \(at>\?\)/, 'time filters still use the index');
});

test('filters select exactly the matching rows, newest first, and page with next', async (t) => {
  const path = await tempDb(t);
  const store = await LogStore.open({ path, logger });
  const rows = [
    record(1, { path: '/api/a', method: 'GET', totalMs: 700, clientIp: '10.0.0.9' }),
    record(2, { path: '/API/b', method: 'POST' }),
    record(3, { path: '/api/c?x', status: 404 }),
    record(4, { path: '/other', status: 503, termination: 'UT', totalMs: 1500 }),
    record(5, { path: '/api_x', status: 200 }),
  ];
  for (const r of rows) store.observe(r);
  await store.close();
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  const ids = (p: Record<string, string>): string[] => reader.requests(parseLogFilter(p, NOW)).items.map((r) => r.request_id);
  t.deepEqual(ids({ path: '/api/*' }), ['r3', 'r1'], 'glob is case-sensitive and _ is not a wildcard');
  t.deepEqual(ids({ path: '/api/a' }), ['r1']);
  t.deepEqual(ids({ method: 'post' }), ['r2']);
  t.deepEqual(ids({ status: '4xx' }), ['r3']);
  t.deepEqual(ids({ status: '503', flag: 'UT' }), ['r4']);
  t.deepEqual(ids({ slower: '500ms' }), ['r4', 'r1']);
  t.deepEqual(ids({ client: '10.0.0.9' }), ['r1']);
  t.deepEqual(ids({ backend: 'http://127.0.0.1:9001', status: '2xx' }), ['r5', 'r2', 'r1']);
  t.deepEqual(ids({ since: '1s', until: '2026-11-30T11:59:59.003Z' }), ['r3', 'r2', 'r1']);
  const first = reader.requests(parseLogFilter({ limit: '2' }, NOW));
  t.deepEqual(first.items.map((r) => r.request_id), ['r5', 'r4']);
  const second = reader.requests(parseLogFilter({ limit: '2', before: String(first.next) }, NOW));
  t.deepEqual(second.items.map((r) => r.request_id), ['r3', 'r2']);
  const last = reader.requests(parseLogFilter({ limit: '2', before: String(second.next) }, NOW));
  t.deepEqual(last.items.map((r) => r.request_id), ['r1']);
  t.is(last.next, null);
  const stats = reader.stats(parseLogFilter({}, NOW), ['status']);
  t.deepEqual(stats.find((g) => g.key.status === 200), { key: { status: 200 }, count: 3, errors: 0, error_rate: 0, p50_ms: 7, p90_ms: 700, p99_ms: 700 });
});

test('bad filters are refused with a reason, and values never reach the SQL text', (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ status: '5x' }, /status must be/],
    [{ status: '600' }, /status must be/],
    [{ since: 'yesterday' }, /since must be a duration/],
    [{ since: '1m', until: '1h' }, /since must be before until/],
    [{ slower: 'fast' }, /slower must be a duration/],
    [{ limit: '0' }, /limit must be a whole number from 1/],
    [{ limit: '99999' }, /limit must be/],
    [{ flag: 'XX' }, /flag must be one of/],
    [{ method: 'GET; DROP' }, /method must be/],
    [{ backend: ' ' }, /backend must not be empty/],
  ];
  for (const [p, reason] of bad) t.throws(() => parseLogFilter(p, NOW), { instanceOf: FilterError, message: reason }, JSON.stringify(p));
  t.throws(() => parseEventFilter({ kind: 'health,nope' }, NOW), { instanceOf: FilterError, message: /kind must be one or more of/ });
  const where = logsWhere(parseLogFilter({ backend: "b1' OR 1=1 --", path: "/x'*" }, NOW));
  t.false(where.sql.includes("'"));
  t.deepEqual(where.params, ["b1' OR 1=1 --", "b1' OR 1=1 --", "/x'*"]);
  t.is(parseSpan('7d'), 7 * 86_400_000);
  t.is(parseSpan('1d12h'), 1.5 * 86_400_000);
  t.is(parseSpan('10m'), 600_000);
  t.is(parseSpan('1d5'), undefined);
});

test('retention deletes by time with an injected clock, then the oldest rows while over max_size', async (t) => {
  const path = await tempDb(t);
  let now = NOW;
  const store = await LogStore.open({ path, logger, wallClock: () => now, retention: { retentionMs: 86_400_000, maxBytes: 1_000_000_000, everyMs: 3_600_000 } });
  t.teardown(() => store.close());
  for (let i = 0; i < 100; i++) store.observe(record(i, { at: NOW - 2 * 86_400_000 + i }));
  for (let i = 100; i < 150; i++) store.observe(record(i, { at: NOW - 1000 + i }));
  store.addEvent({ seq: 1, at: NOW - 2 * 86_400_000, kind: 'health', level: 'warn', message: 'old' });
  await store.flush();
  t.is(await store.enforceRetention(), 101, 'the 100 old requests and the old event');
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  t.is(reader.requests(parseLogFilter({ limit: '10000' }, NOW)).items.length, 50);
  now += 86_400_000 + 5000;
  t.is(await store.enforceRetention(), 50, 'a day later, the rest are over a day old');
  // Size: fill with ~2 MB of rows and cap at 512 KiB.
  const sized = await LogStore.open({ path: path + '-size', logger, wallClock: () => NOW, retention: { retentionMs: 365 * 86_400_000, maxBytes: 512 * 1024 } });
  t.teardown(() => sized.close());
  for (let i = 0; i < 10_000; i++) sized.observe(record(i, { path: `/p/${'x'.repeat(150)}/${i}` }));
  await sized.flush();
  const deleted = await sized.enforceRetention();
  t.true(deleted > 0);
  const db = new Database(path + '-size', { readonly: true });
  const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
  t.true(pages * (db.pragma('page_size', { simple: true }) as number) <= 512 * 1024);
  const oldestLeft = (db.prepare('SELECT min(request_id + 0) AS m, count(*) AS n FROM (SELECT substr(request_id, 2) AS request_id FROM requests)').get() as { m: number; n: number });
  t.is(oldestLeft.m, 10_000 - oldestLeft.n, 'the newest rows are the ones kept');
  db.close();
});

test('a writer that falls behind drops and counts rows; queueing never waits for it', async (t) => {
  const path = await tempDb(t);
  const store = await LogStore.open({ path, logger, slowFlushMs: 2000, maxQueued: 100, flushEveryMs: 10 });
  store.observe(record(0));
  // Poll until the first (slow) batch is with the writer.
  const deadline = Date.now() + 5000;
  while (store.queued > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.is(store.queued, 0);
  const began = process.hrtime.bigint();
  for (let i = 1; i <= 1000; i++) store.observe(record(i));
  const tookMs = Number(process.hrtime.bigint() - began) / 1e6;
  t.true(tookMs < 200, `queueing 1000 records took ${tookMs} ms while the writer sleeps`);
  t.is(store.queued, 100);
  t.is(store.dropped, 900);
  await store.close();
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  t.is(reader.requests(parseLogFilter({ limit: '10000' }, NOW)).items.length, 101, 'what was queued is written on close');
});

test('chunks of 256 rows that do not fit in the shared ring while the writer is busy are dropped and counted whole', async (t) => {
  const path = await tempDb(t);
  // About 33 KB of JSON per 256 rows: two chunks fit in 80 KB, a third does not.
  const store = await LogStore.open({ path, logger, slowFlushMs: 2000, flushEveryMs: 10, ringBytes: 80_000 });
  store.observe(record(0));
  const deadline = Date.now() + 5000;
  while (store.queued > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  for (let i = 1; i <= 5 * 256; i++) store.observe(record(i));
  t.is(store.dropped, 3 * 256);
  t.is(store.queued, 2 * 256);
  await store.close();
  t.is(store.writtenRows, 1 + 2 * 256);
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  const ids = reader.requests(parseLogFilter({ limit: '10000' }, NOW)).items.map((r) => Number(r.request_id.slice(1))).reverse();
  t.deepEqual(ids, Array.from({ length: 513 }, (_, i) => i), 'the first request and the two chunks that fitted');
});

test.serial('a small ring goes round many times while batches are written, without reordering or duplicating a row', async (t) => {
  const path = await tempDb(t);
  // Count the chunks put at the start of the ring while older ones are still there: wraps.
  let wraps = 0;
  const put = ChunkRing.prototype.put;
  ChunkRing.prototype.put = function (this: ChunkRing, text: string) {
    const pending = this.pending;
    const range = put.call(this, text);
    if (range?.start === 0 && pending > 0) wraps += 1;
    return range;
  };
  t.teardown(() => {
    ChunkRing.prototype.put = put;
  });
  // A writer that takes 20 ms a batch: new chunks go in while the batch's are still in the ring.
  const lines: string[] = [];
  const store = await LogStore.open({ path, logger: new Logger('error', (line) => lines.push(line)), ringBytes: 150_000, flushEveryMs: 5, slowFlushMs: 20 });
  let n = 0;
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 64; i++) store.observe(record(n++));
    await new Promise((r) => setTimeout(r, 2));
  }
  await store.close();
  const reader = new LogReader(path);
  t.teardown(() => reader.close());
  const ids = reader.requests(parseLogFilter({ limit: '10000' }, NOW)).items.map((r) => Number(r.request_id.slice(1))).reverse();
  t.true(wraps > 0, 'the ring went round');
  t.deepEqual(lines, [], 'no batch failed (a chunk read from the wrong bytes is not JSON)');
  t.is(ids.length + store.dropped, n, 'every row written or counted (a stalled machine may drop whole chunks)');
  t.true(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'in order, none twice');
  t.is(ids.length, n - store.dropped);
});

test('a store that cannot be opened is refused at open with the path, and a newer schema is not touched', async (t) => {
  await t.throwsAsync(LogStore.open({ path: '/nonexistent-dir/velo/logs.db', logger }), { message: /cannot open log store \/nonexistent-dir\/velo\/logs\.db/ });
  const path = await tempDb(t);
  const db = new Database(path);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  await t.throwsAsync(LogStore.open({ path, logger }), { message: /newer than this velo's/ });
  t.throws(() => new LogReader(path), { message: /newer than this velo's/ });
});
