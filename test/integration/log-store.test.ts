import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { launch, type Running } from '../../src/cli/start.js';
import { printLogs } from '../../src/cli/logs.js';
import { printEvents } from '../../src/cli/events.js';
import { openStore } from '../../src/cli/store-file.js';
import type { LogStoreOptions } from '../../src/store/log-store.js';
import { parseEventFilter, parseLogFilter } from '../../src/store/log-filter.js';
import { startBackends } from './harness.js';

const logger = new Logger('silent');

async function setup(t: { teardown(fn: () => Promise<void>): void }, backends: string[]): Promise<{ file: string; db: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-store-it-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'velo.config.yaml');
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
access_log:
  enabled: false
  store: { path: logs.db, retention: 7d, max_size: 1GB }
pools:
  - name: web
    strategy: round-robin
    health_check: { enabled: false }
    backends: [${backends.map((b, i) => `{ url: ${b}, name: b${i + 1} }`).join(', ')}]
`;
  await writeFile(file, yaml);
  return { file, db: join(dir, 'logs.db') };
}

async function start(file: string, logStore?: LogStoreOptions extends infer O ? Partial<O> : never): Promise<{ running: Running; url: string; admin: string }> {
  const config = await loadConfig({ file, env: {} });
  const running = await launch(config, undefined, logger, { watchFile: false, accessLog: false, ...(logStore !== undefined ? { logStore } : {}) });
  return { running, url: `http://127.0.0.1:${running.engine.address.port}`, admin: `http://${running.engine.adminAddress!.host}:${running.engine.adminAddress!.port}` };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

/** Sends `n` GETs, `concurrency` at a time; returns each reply's status, backend and latency (ms). */
async function load(url: string, n: number, concurrency: number): Promise<Array<{ status: number; backend: string | null; ms: number }>> {
  const agent = new Agent({ connections: concurrency });
  const out: Array<{ status: number; backend: string | null; ms: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const began = performance.now();
        const res = await request(`${url}/api/item/${i}`, { dispatcher: agent });
        await res.body.dump();
        out.push({ status: res.statusCode, backend: (res.headers['x-backend'] as string | undefined) ?? null, ms: performance.now() - began });
      }
    }),
  );
  await agent.close();
  return out;
}

test.serial('the store fills under load, survives a restart, and the CLI and the admin API agree on it', async (t) => {
  const [ok] = await startBackends(t, 1);
  const [bad] = await startBackends(t, 1, { status: 502, name: 'bad' });
  const { file, db } = await setup(t, [ok!.url, bad!.url]);
  const first = await start(file);
  const replies = await load(first.url, 400, 16);
  await first.running.shutdown();

  const second = await start(file);
  t.teardown(() => second.running.shutdown().then(() => undefined));
  // The second run's own events (its "listening") are in the store once its queue is written.
  await second.running.logStore!.store.flush();
  // The event pane starts with the first run's events, marked as history.
  const history = second.running.engine.events.recent().filter((e) => e.history === true);
  t.true(history.some((e) => /^listening on/.test(e.message)), 'the first run\'s "listening" event is in the pane');

  const api = await getJson(`${second.admin}/api/logs?limit=10000`);
  t.is(api.status, 200);
  t.is(api.body.requests.length, 400, 'every request of the first run is stored, exactly once');
  t.is(api.body.next, null);
  const tally = new Map<string, number>();
  for (const r of replies) tally.set(`${r.status}`, (tally.get(`${r.status}`) ?? 0) + 1);
  const stats = await getJson(`${second.admin}/api/logs/stats?by=status`);
  t.deepEqual(Object.fromEntries(stats.body.groups.map((g: { key: { status: number }; count: number }) => [String(g.key.status), g.count])), Object.fromEntries(tally));

  // Filters: 5xx are exactly the 502s, and they all came from b2.
  const failed = await getJson(`${second.admin}/api/logs?status=5xx&limit=10000`);
  t.is(failed.body.requests.length, tally.get('502') ?? 0);
  t.true(failed.body.requests.every((r: { backend_name: string; status: number }) => r.backend_name === 'b2' && r.status === 502));
  const byB1 = await getJson(`${second.admin}/api/logs?backend=b1&path=/api/item/*&limit=10000`);
  t.is(byB1.body.requests.length, tally.get('200') ?? 0);

  // CLI (reading the file found through -c) and API agree row for row.
  const reader = await openStore({ config: file });
  t.teardown(async () => reader.close());
  t.is(reader.path, db);
  let lines = '';
  const printed = await printLogs(reader, { status: '502', limit: '10000', json: true }, (s) => (lines += s));
  t.is(printed, failed.body.requests.length);
  t.deepEqual(lines.trim().split('\n').map((l) => JSON.parse(l)), [...failed.body.requests].reverse());
  let events = '';
  printEvents(reader, { kind: 'lifecycle', json: true, limit: '1000' }, (s) => (events += s));
  const apiEvents = await getJson(`${second.admin}/api/events?kind=lifecycle&limit=1000`);
  t.deepEqual(events.trim().split('\n').map((l) => JSON.parse(l)), [...apiEvents.body.events].reverse());
  t.true(apiEvents.body.events.filter((e: { message: string }) => /^listening on/.test(e.message)).length >= 2, 'both runs are in the audit trail');

  // Paging: two pages of 250 + 150, no overlap.
  const p1 = await getJson(`${second.admin}/api/logs?limit=250`);
  const p2 = await getJson(`${second.admin}/api/logs?limit=250&before=${p1.body.next}`);
  t.is(p2.body.requests.length, 150);
  t.is(new Set([...p1.body.requests, ...p2.body.requests].map((r: { request_id: string }) => r.request_id)).size, 400);

  // Validation: a 400 with the reason.
  for (const [query, reason] of [['status=5x', /status must be/], ['since=soon', /since must be/], ['nope=1', /unknown parameter "nope"/], ['limit=0', /limit must be/]] as const) {
    const bad400 = await getJson(`${second.admin}/api/logs?${query}`);
    t.is(bad400.status, 400, query);
    t.regex(bad400.body.error, reason);
  }
  t.is((await getJson(`${second.admin}/api/logs/stats?by=colour`)).status, 400);
});

test.serial('a store that falls behind drops and counts records; requests keep their latency', async (t) => {
  const [ok] = await startBackends(t, 1);
  const { file } = await setup(t, [ok!.url]);
  // Each batch takes 2 s to write and at most 50 rows wait: most of 600 requests cannot be stored.
  const velo = await start(file, { slowFlushMs: 2000, maxQueued: 50, flushEveryMs: 10 });
  t.teardown(() => velo.running.shutdown().then(() => undefined));
  const replies = await load(velo.url, 600, 8);
  t.true(replies.every((r) => r.status === 200));
  const worst = Math.max(...replies.map((r) => r.ms));
  t.true(worst < 1000, `the slowest request took ${worst.toFixed(1)} ms while each store write takes 2000 ms`);
  const dropped = velo.running.logStore!.store.dropped;
  t.true(dropped >= 600 - 2 * 50 - 10, `dropped ${dropped}`);
  const metrics = await (await request(`${velo.admin}/metrics`)).body.text();
  const m = /^velo_log_store_dropped_total (\d+)$/m.exec(metrics);
  t.truthy(m, 'velo_log_store_dropped_total is exported');
  t.is(Number(m![1]), velo.running.logStore!.store.dropped);
});

test.serial('with --workers 2 each worker stores its own records in the same file and the control plane the events', async (t) => {
  const [ok] = await startBackends(t, 1);
  const { file, db } = await setup(t, [ok!.url]);
  const config = await loadConfig({ file, env: {} });
  const running = await launch(config, undefined, logger, { watchFile: false, accessLog: false, workers: 2 });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : running.shutdown().then(() => undefined)));
  const url = `http://127.0.0.1:${running.engine.address.port}`;
  const replies = await load(url, 300, 8);
  t.true(replies.every((r) => r.status === 200));
  await running.shutdown();
  stopped = true;
  const reader = await openStore({ db });
  t.teardown(async () => reader.close());
  t.is(reader.stats(parseLogFilter({}, Date.now()), ['backend']).reduce((n, g) => n + g.count, 0), 300, 'every request stored once, by the worker that served it');
  t.true(reader.events(parseEventFilter({ kind: 'lifecycle' }, Date.now())).items.some((e) => /workers\)$/.test(e.message)), 'the control plane stored its "listening ... (2 workers)" event');
});
