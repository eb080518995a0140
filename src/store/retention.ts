/**
 * Retention of the log store: rows older than the retention period go, then the oldest
 * requests while the database holds more than `max_size`. Runs on the writer thread.
 */
import type Database from 'better-sqlite3';

/** Rows deleted per statement, so one retention pass never holds the write lock for long. */
const CHUNK = 5000;

/** Bytes the database's live pages take (`page_count - freelist_count`) × `page_size`. */
export function usedBytes(db: Database.Database): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * pageSize;
}

/**
 * Deletes requests and events with `at < before` (wall-clock ms), then the oldest requests
 * until the live pages fit in `maxBytes`, and gives free pages back to the file system.
 * Returns the number of rows deleted.
 */
export function deleteForRetention(db: Database.Database, before: number, maxBytes: number): number {
  let deleted = 0;
  const byTime = db.prepare(`DELETE FROM request_rows WHERE id IN (SELECT id FROM request_rows WHERE at < ? ORDER BY id LIMIT ${CHUNK})`);
  for (;;) {
    const n = byTime.run(before).changes;
    deleted += n;
    if (n < CHUNK) break;
  }
  deleted += db.prepare('DELETE FROM events WHERE at < ?').run(before).changes;
  const count = db.prepare('SELECT count(*) AS n FROM request_rows');
  const oldest = db.prepare('DELETE FROM request_rows WHERE id IN (SELECT id FROM request_rows ORDER BY id LIMIT ?)');
  for (let used = usedBytes(db); used > maxBytes; used = usedBytes(db)) {
    const rows = (count.get() as { n: number }).n;
    if (rows === 0) break;
    // Delete the share of rows that is over the limit, and a tenth more so one pass is enough.
    const over = Math.ceil(rows * Math.min(1, ((used - maxBytes) / used) * 1.1));
    deleted += oldest.run(Math.max(1, Math.min(over, CHUNK))).changes;
  }
  if (deleted > 0) db.pragma('incremental_vacuum');
  return deleted;
}
