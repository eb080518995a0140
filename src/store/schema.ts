/**
 * The log store's SQLite schema and its migrations. `PRAGMA user_version` holds the number of
 * migrations applied; opening a database applies the missing ones in one transaction, so an
 * older file is upgraded in place and a newer one (from a later velo) is refused.
 *
 * Tables (times are wall-clock ms since the epoch, durations ms):
 * - `requests` (a view since version 2): one row per finished request, the access log's JSON
 *   fields plus `trace_id`. What is stored is `request_rows(id, at, fields)`: `fields` is the
 *   row as the JSONB array velo built (rows.ts, `REQUEST_FIELDS`), `at` is indexed. Storing
 *   the array whole costs the writer about a third less CPU per request than 17 columns (the
 *   insert neither takes the row apart nor encodes a column per field); reading the view takes
 *   it apart, which `velo logs stats` over all rows pays (docs/performance.md, "Log store cost").
 * - `events`: one row per engine event (health, circuit, outlier, admin, reload, lifecycle, ...).
 */
import type Database from 'better-sqlite3';

/** Each entry upgrades the schema by one version; never edit one that has shipped, append. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE requests (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     request_id TEXT NOT NULL,
     client_ip TEXT NOT NULL,
     method TEXT NOT NULL,
     host TEXT,
     path TEXT NOT NULL,
     status INTEGER NOT NULL,
     pool TEXT,
     backend TEXT,
     backend_name TEXT,
     attempts INTEGER NOT NULL,
     upstream_ms REAL,
     total_ms REAL NOT NULL,
     bytes_in INTEGER NOT NULL,
     bytes_out INTEGER NOT NULL,
     termination TEXT NOT NULL,
     trace_id TEXT
   );
   CREATE INDEX requests_at ON requests (at);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     level TEXT NOT NULL,
     message TEXT NOT NULL,
     detail TEXT,
     pool TEXT,
     backend TEXT,
     name TEXT,
     url TEXT
   );
   CREATE INDEX events_at ON events (at);`,
  // 2: requests as one JSONB array per row behind a view with the same columns; existing rows are converted.
  `CREATE TABLE request_rows (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     fields BLOB NOT NULL
   );
   INSERT INTO request_rows (id, at, fields)
     SELECT id, at, jsonb_array(0, request_id, client_ip, method, host, path, status, pool, backend, backend_name, attempts,
       CAST(round(upstream_ms * 1000) AS INTEGER), CAST(round(total_ms * 1000) AS INTEGER), bytes_in, bytes_out, termination, trace_id)
     FROM requests;
   DROP TABLE requests;
   CREATE INDEX request_rows_at ON request_rows (at);
   CREATE VIEW requests AS SELECT
     id, at, fields ->> 1 AS request_id, fields ->> 2 AS client_ip, fields ->> 3 AS method, fields ->> 4 AS host,
     fields ->> 5 AS path, fields ->> 6 AS status, fields ->> 7 AS pool, fields ->> 8 AS backend, fields ->> 9 AS backend_name,
     fields ->> 10 AS attempts, (fields ->> 11) / 1000.0 AS upstream_ms, (fields ->> 12) / 1000.0 AS total_ms,
     fields ->> 13 AS bytes_in, fields ->> 14 AS bytes_out, fields ->> 15 AS termination, fields ->> 16 AS trace_id
   FROM request_rows;`,
];

/** Page size of a new store file; bytes. An existing file keeps its own (4096 before schema 2). */
export const PAGE_SIZE = 16_384;

/** The schema version this velo writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Sets WAL mode and a busy timeout (several writers: the control plane and each worker) and
 * applies the missing migrations. Throws when the file's schema is newer than this velo's.
 */
export function prepareDatabase(db: Database.Database, busyTimeoutMs = 5000): void {
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  // Both only take effect on a new file (before the first table). Incremental vacuum: retention
  // can shrink the file. 16 KiB pages: a quarter of the write, read and page-cache calls per
  // row of 4 KiB pages in the WAL and its checkpoints, about 15% of the writer's insert CPU.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  // WAL with synchronous=NORMAL stays consistent on a crash and may only lose the last batches.
  db.pragma('synchronous = NORMAL');
  migrate(db);
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`log store ${db.name} has schema version ${current}, newer than this velo's ${SCHEMA_VERSION}; upgrade velo or use another file`);
  }
  if (current === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new file at once migrate it once, the second waits.
  db.transaction(() => {
    const again = db.pragma('user_version', { simple: true }) as number;
    for (let v = again; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
  // A migration that rewrote a table (2) leaves the old one's pages free: give them back now.
  if (current > 0) db.pragma('incremental_vacuum');
}
