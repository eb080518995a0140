#!/usr/bin/env node
// The log store's CPU per request record, measured apart from the rest of velo: CPU time, which
// a shared machine moves far less than req/s (compare builds in interleaved runs all the same). Drives N records shaped like
// forward.ts's through `LogStore.observe` (the engine's observer: same rows, same chunked
// hand-off to the writer thread, same 250 ms batches) at a fixed rate, and reports per record:
// the time spent in `observe` (wall time of the calls, over a no-op observer's: the request
// path's share), the forwarding (main) thread's CPU over a run with a no-op observer (timers and
// the batch hand-off included), the writer thread's CPU, and the whole process's (GC helper
// threads included) over the no-op run.
// Usage: node scripts/store-cost.mjs [--records 200000] [--rate 20000] [--rounds 3]
// [--dist] (the built dist/ store instead of src/ through tsx) [--keep] (print the db path, keep it)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  records: { type: 'string', default: '200000' }, rate: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' },
  dist: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false },
} });
const N = Number(values.records), RATE = Number(values.rate), ROUNDS = Number(values.rounds);
/** Records are emitted on a timer of this period, as many as are due (about RATE × TICK_MS / 1000). */
const TICK_MS = 2;

let mod;
if (values.dist) mod = await import(path.join(ROOT, 'dist/src/store/log-store.js'));
else {
  (await import('tsx/esm/api')).register();
  mod = await import(path.join(ROOT, 'src/store/log-store.ts'));
}
const { LogStore } = mod;
const logger = { error() {}, warn() {}, info() {}, debug() {}, enabled: () => false };

/** CPU ns a thread of this process has run (schedstat's first field: user and system). */
function threadNs(tid) {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}
const tasks = () => fs.readdirSync('/proc/self/task').map(Number);
const processUs = () => { const u = process.cpuUsage(); return u.user + u.system; };

// What forward.ts hands its observers, as the bench's traffic makes it: three origins, tracing on.
const prefix = 'a1b2c3d4';
const origins = [40101, 40102, 40103].map((p) => ({ id: `http://127.0.0.1:${p}`, name: `127.0.0.1:${p}` }));
const paths = ['/', '/', '/', '/api/items', '/api/items/42', '/static/app.js', '/health'];
// Trace ids from a pool: making a fresh one per record (BigInt) would be most of the baseline's CPU.
const traceIds = Array.from({ length: 4096 }, (_, i) => (0x1000000000000000n + BigInt(i) * 7919n).toString(16).padStart(32, '0'));
let seq = 0;
function makeRecord() {
  seq += 1;
  const o = origins[seq % 3];
  const upstreamMs = 0.4 + (seq % 97) / 37;
  return {
    id: `${prefix}-${seq.toString(36)}`, at: Date.now(), clientIp: '127.0.0.1', method: seq % 50 === 0 ? 'POST' : 'GET',
    path: paths[seq % paths.length], host: '127.0.0.1:40100', status: seq % 200 === 0 ? 502 : 200, pool: 'default',
    backend: o.id, backendName: o.name, attempts: 1, upstreamMs, totalMs: upstreamMs + 0.3 + (seq % 13) / 50, bytesIn: 0, bytesOut: 9 + (seq % 5),
    termination: '-', traceId: traceIds[seq & 4095],
  };
}

/**
 * Calls `observe` n times at RATE per second; resolves with the ns spent in those calls (wall
 * time of each tick's calls, the records made before: on the request path, what the store adds).
 */
function drive(observe, n = N) {
  return new Promise((resolve) => {
    const began = performance.now();
    let sent = 0;
    let inObserve = 0n;
    const batch = [];
    const tick = () => {
      const due = Math.min(n, Math.floor(((performance.now() - began) * RATE) / 1000));
      batch.length = 0;
      for (; sent < due; sent++) batch.push(makeRecord());
      const t = process.hrtime.bigint();
      for (const r of batch) observe(r);
      inObserve += process.hrtime.bigint() - t;
      if (sent < n) setTimeout(tick, TICK_MS);
      else resolve(Number(inObserve));
    };
    setTimeout(tick, TICK_MS);
  });
}

async function baselineRun(n = N) {
  const main = threadNs(process.pid), proc = processUs();
  let sum = 0;
  const observeNs = await drive((r) => { sum += r.status; }, n);
  return { mainNs: threadNs(process.pid) - main, processUs: processUs() - proc, observeNs };
}

async function storeRun(dir, n = N) {
  const file = path.join(dir, `logs-${Date.now()}.db`);
  const before = new Set(tasks());
  const store = await LogStore.open({ path: file, logger, retention: { retentionMs: 7 * 86_400_000, maxBytes: 1024 ** 3, everyMs: 60_000 } });
  const fresh = tasks().filter((t) => !before.has(t));
  const start = new Map(fresh.map((t) => [t, threadNs(t)]));
  const main = threadNs(process.pid), proc = processUs();
  const began = performance.now();
  const observeNs = await drive(store.observe, n);
  await store.flush();
  await store.enforceRetention();
  const wallMs = performance.now() - began;
  const mainNs = threadNs(process.pid) - main, processUsed = processUs() - proc;
  // The writer is the thread the store started that ran the most.
  const writerNs = Math.max(0, ...fresh.map((t) => threadNs(t) - start.get(t)));
  const dropped = store.dropped, written = store.writtenRows;
  await store.close();
  const bytes = fs.statSync(file).size;
  if (!values.keep) for (const f of fs.readdirSync(dir)) if (f.startsWith(path.basename(file))) fs.rmSync(path.join(dir, f));
  else console.error(`kept ${file}`);
  return { mainNs, writerNs, processUs: processUsed, dropped, written, bytes, wallMs, observeNs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => x.toFixed(2).padStart(7);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'velo-store-cost-'));
console.log(`store-cost: ${N} records at ${RATE}/s, ${ROUNDS} round(s), ${values.dist ? 'dist/' : 'src/'}, db in ${dir}`);
console.log('µs per record: observe   main   writer   other  process | dropped   db MB');
const rows = [];
// A warm-up of both paths (JIT, the thread's first SQLite pages) that is not reported.
await baselineRun(Math.ceil(N / 4));
await storeRun(dir, Math.ceil(N / 4));
for (let round = 1; round <= ROUNDS; round++) {
  const base = await baselineRun();
  const s = await storeRun(dir);
  const main = (s.mainNs - base.mainNs) / 1000 / N;
  const writer = s.writerNs / 1000 / N;
  const total = (s.processUs - base.processUs) / N;
  const observe = (s.observeNs - base.observeNs) / 1000 / N;
  const row = { observe, main, writer, other: total - main - writer, total };
  rows.push(row);
  console.log(`round ${round}:   ${fmt(observe)} ${fmt(main)} ${fmt(writer)} ${fmt(row.other)} ${fmt(total)} | ${String(s.dropped).padStart(7)} ${(s.bytes / 1e6).toFixed(1).padStart(7)}`);
  if (s.written !== N) console.log(`  (written ${s.written} of ${N})`);
}
const col = (k) => fmt(median(rows.map((r) => r[k])));
console.log(`median:    ${col('observe')} ${col('main')} ${col('writer')} ${col('other')} ${col('total')}`);
fs.rmSync(dir, { recursive: true, force: true });
