/**
 * `velo logs`, `velo logs stats` and `velo events` as a user runs them: the CLI in a child
 * process (under tsx) reading a store file found through --db, -c or $VELO_CONFIG.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { Logger } from '../../src/log/logger.js';
import { LogStore } from '../../src/store/log-store.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// Absolute, so the CLI also runs from another working directory.
const TSX = `--import=${import.meta.resolve('tsx')}`;
const logger = new Logger('silent');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function velo(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, MAIN, ...args], { env: { ...process.env, VELO_CONFIG: '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function record(i: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: `r${i}`, at: Date.now() - 1000 + i, clientIp: '10.0.0.1', method: 'GET', path: `/api/${i}`, host: undefined, status: 200,
    pool: 'web', backend: 'http://127.0.0.1:9001', backendName: 'b1', attempts: 1, upstreamMs: 1, totalMs: 10 + i, bytesIn: 0, bytesOut: 5, termination: '-', ...over,
  };
}

async function storeDir(t: { teardown(fn: () => Promise<void>): void }): Promise<{ dir: string; db: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-logs-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = join(dir, 'logs.db');
  const store = await LogStore.open({ path: db, logger });
  for (let i = 0; i < 10; i++) store.observe(record(i, i % 5 === 0 ? { status: 502, backendName: 'b2', backend: 'http://127.0.0.1:9002', termination: 'UF' } : {}));
  store.addEvent({ seq: 1, at: Date.now(), kind: 'admin', level: 'info', message: 'drain b2 (by cli)' });
  store.addEvent({ seq: 2, at: Date.now(), kind: 'health', level: 'warn', message: 'b2 is down' });
  await store.close();
  return { dir, db };
}

test('velo logs filters and prints JSON lines oldest first; a bad filter exits 2 with the reason', async (t) => {
  const { db } = await storeDir(t);
  const failed = await velo(['logs', '--db', db, '--status', '5xx', '--json']);
  t.is(failed.code, 0, failed.stderr);
  const rows = failed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { request_id: string; status: number; backend_name: string });
  t.deepEqual(rows.map((r) => r.request_id), ['r0', 'r5']);
  t.true(rows.every((r) => r.status === 502 && r.backend_name === 'b2'));
  const table = await velo(['logs', '--db', db, '--backend', 'b1', '--slower', '15ms', '--limit', '2']);
  t.deepEqual(table.stdout.trim().split('\n').map((l) => l.split(/\s+/)[3]), ['PATH', '/api/8', '/api/9']);
  const bad = await velo(['logs', '--db', db, '--status', '5x']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--status must be a status such as 502 or a class such as 5xx, got "5x"/);
});

test('velo logs finds the store through -c and $VELO_CONFIG, like velo start', async (t) => {
  const { dir } = await storeDir(t);
  const file = join(dir, 'velo.config.yaml');
  await writeFile(file, 'access_log:\n  store: { path: logs.db }\n');
  const byFlag = await velo(['logs', '-c', file, '--json']);
  t.is(byFlag.stdout.trim().split('\n').length, 10, byFlag.stderr);
  const byEnv = await velo(['logs', '--json', '--method', 'get'], { VELO_CONFIG: file });
  t.is(byEnv.stdout.trim().split('\n').length, 10, byEnv.stderr);
  const byCwd = await velo(['events', '--json'], {}, dir);
  t.deepEqual(byCwd.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message), ['drain b2 (by cli)', 'b2 is down']);
  const none = await velo(['logs'], {}, tmpdir());
  t.is(none.code, 2);
  t.regex(none.stderr, /no log store: access_log.store is not set/);
});

test('velo logs stats groups with counts, error rate and percentiles; velo events filters by kind', async (t) => {
  const { db } = await storeDir(t);
  const stats = await velo(['logs', 'stats', '--db', db, '--by', 'backend,status', '--json']);
  t.is(stats.code, 0, stats.stderr);
  t.deepEqual(stats.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
    { key: { backend: 'b1', status: 200 }, count: 8, errors: 0, error_rate: 0, p50_ms: 14, p90_ms: 19, p99_ms: 19 },
    { key: { backend: 'b2', status: 502 }, count: 2, errors: 2, error_rate: 1, p50_ms: 10, p90_ms: 15, p99_ms: 15 },
  ]);
  const badBy = await velo(['logs', 'stats', '--db', db, '--by', 'colour']);
  t.is(badBy.code, 2);
  const events = await velo(['events', '--db', db, '--kind', 'health', '--json']);
  t.deepEqual(events.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message), ['b2 is down']);
});

test('velo logs --follow prints records stored after it started', async (t) => {
  const { db } = await storeDir(t);
  const child = spawn(process.execPath, [TSX, MAIN, 'logs', '--db', db, '--json', '--follow', '--status', '404'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill());
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const store = await LogStore.open({ path: db, logger });
  t.teardown(() => store.close());
  const deadline = Date.now() + 20_000;
  let i = 100;
  // Keep adding a 404 until the follower has printed one (it may start after the first write).
  while (!out.includes('"status":404') && Date.now() < deadline) {
    store.observe(record(i++, { status: 404 }));
    await store.flush();
    await new Promise((r) => setTimeout(r, 100));
  }
  t.true(out.includes('"status":404'), 'the new 404 was printed');
  t.false(out.includes('"status":200'), 'and nothing the filter excludes');
});
