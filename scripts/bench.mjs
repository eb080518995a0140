#!/usr/bin/env node
// `npm run bench` (after `npm run build`): wrk against a bare origin, two minimal forwarders
// (undici, http-proxy-3), velo and nginx over the same
// three origins, in interleaved rounds; prints medians and rewrites docs/performance.md above
// the `<!-- bench:end -->` marker. Usage: node scripts/bench.mjs [--rounds 3] [--duration 5s]
// [--connections 64] [--only bare,undici,hp3,velo,nginx,dashboard] [--dashboard]
// [--workers 2[,4]] (adds velo rows with N workers) [--sched kernel,rr] [--max-load 2.5]
// [--delay-ms 10] (each connection waits that long between requests: an offered rate below
// saturation, the same for every target) [--dry-run] (print only; docs/performance.md untouched)
// [--baseline DIR] (adds a row for the velo built in DIR, e.g. a copy of dist/ before a change)
// [--store] (adds a velo row with access_log.store on)
// [--h2] (adds HTTP/2 rows, in the same rounds, with h2load from nghttp2-client: velo and nginx
// with h2c prior knowledge and h2 over TLS, plus both over TLS in HTTP/1.1 with wrk; a table of
// their own) [--h2-clients 16] [--h2-streams 10] (h2load -c and -m); the rows one by one in
// --only: velo-h2c,velo-h2,velo-h1tls,nginx-h2c,nginx-h2,nginx-h1tls
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const DOC = path.join(ROOT, 'docs/performance.md');
const MARKER = '<!-- bench:end -->';
const LABELS = { bare: 'bare origin', undici: 'undici forwarder', hp3: 'http-proxy-3 forwarder', velo: 'velo', baseline: 'velo (baseline build)', nginx: 'nginx', dashboard: 'velo+dashboard', store: 'velo+store',
  'velo-h2c': 'velo h2c (prior knowledge)', 'velo-h2': 'velo h2 (TLS, ALPN)', 'velo-h1tls': 'velo HTTP/1.1 (TLS)',
  'nginx-h2c': 'nginx h2c (prior knowledge)', 'nginx-h2': 'nginx h2 (TLS, ALPN)', 'nginx-h1tls': 'nginx HTTP/1.1 (TLS)' };
/**
 * The rows of the HTTP/2 table (`--h2`), each with the protocol it is measured in: h2load for
 * h2c and h2, wrk for HTTP/1.1 over TLS (the same TLS listener, which wrk reaches without ALPN).
 */
const H2_ROWS = { 'velo-h2c': 'h2c', 'velo-h2': 'h2', 'velo-h1tls': 'h1tls', 'nginx-h2c': 'h2c', 'nginx-h2': 'h2', 'nginx-h1tls': 'h1tls' };
const isH2Row = (row) => row in H2_ROWS;
const usesH2load = (row) => H2_ROWS[row] === 'h2c' || H2_ROWS[row] === 'h2';
/** The test certificate (CN localhost, self-signed) the TLS rows serve. */
const TLS_CERT = path.join(ROOT, 'fixtures/tls/cert.pem'), TLS_KEY = path.join(ROOT, 'fixtures/tls/key.pem');
/** A velo row with workers: `w2` (kernel-spread accepts) or `w2-rr` (the primary accepts and passes handles). */
const WORKER_ROW = /^w(\d+)(-rr)?$/;
const workerRow = (row) => { const m = WORKER_ROW.exec(row); return m ? { workers: Number(m[1]), rr: m[2] !== undefined } : undefined; };
const label = (row) => LABELS[row] ?? (workerRow(row) ? `velo (${workerRow(row).workers} workers${workerRow(row).rr ? ', rr' : ''})` : row);
/** Waiting for the machine to calm down before measuring: poll every 30 s, at most 10 min. */
const LOAD_POLL_MS = 30_000, LOAD_WAIT_MS = 600_000;
/** Clock ticks per second of /proc/PID/stat's utime and stime. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const READY_TIMEOUT_MS = 20_000;
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
class BenchError extends Error {}
class UsageError extends BenchError {}
const fail = (msg) => { throw new BenchError(msg); };
const usage = (msg) => { throw new UsageError(msg); };

function parseOptions() {
  const { values } = parseArgs({ options: {
    rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5s' },
    connections: { type: 'string', default: '64' }, only: { type: 'string' },
    dashboard: { type: 'boolean', default: false }, store: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
    h2: { type: 'boolean', default: false }, 'h2-clients': { type: 'string', default: '16' }, 'h2-streams': { type: 'string', default: '10' },
    workers: { type: 'string' }, baseline: { type: 'string' }, 'delay-ms': { type: 'string', default: '0' }, 'dry-run': { type: 'boolean', default: false }, sched: { type: 'string', default: 'kernel,rr' }, 'max-load': { type: 'string', default: '2.5' },
  } });
  if (values.help) {
    const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
    console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).join('\n').replaceAll('// ', ''));
    process.exit(0);
  }
  const rounds = Number(values.rounds), connections = Number(values.connections);
  const m = /^(\d+)(s|m)?$/.exec(values.duration);
  const seconds = m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : 0;
  const workers = values.workers?.split(',').map((s) => s.trim()) ?? [];
  for (const w of workers) if (!/^\d+$/.test(w) || Number(w) < 2 || Number(w) > 256) usage(`--workers takes counts from 2 to 256 (1 is the velo row), got '${w}'`);
  const sched = values.sched.split(',').map((s) => s.trim());
  for (const s of sched) if (!['kernel', 'rr'].includes(s)) usage(`--sched takes kernel,rr; got '${s}'`);
  const workerRows = workers.flatMap((w) => sched.map((s) => `w${Number(w)}${s === 'rr' ? '-rr' : ''}`));
  const base = values.only?.split(',').map((s) => s.trim()) ?? ['bare', 'undici', 'hp3', 'velo', 'nginx'];
  // The worker rows sit right after the one-process velo row they are compared with.
  const at = base.includes('velo') ? base.indexOf('velo') + 1 : base.length;
  const rows = [...new Set([...base.slice(0, at), ...(values.baseline ? ['baseline'] : []), ...workerRows, ...base.slice(at), ...(values.dashboard ? ['dashboard'] : []), ...(values.store ? ['store'] : []), ...(values.h2 ? Object.keys(H2_ROWS) : [])])];
  const baselineCli = values.baseline ? path.resolve(values.baseline, 'dist/src/cli/main.js') : undefined;
  if (baselineCli && !fs.existsSync(baselineCli)) usage(`--baseline: ${baselineCli} does not exist`);
  const maxLoad = Number(values['max-load']);
  if (!(maxLoad > 0)) usage(`--max-load must be a positive number, got '${values['max-load']}'`);
  if (!Number.isInteger(rounds) || rounds < 1) usage(`--rounds must be a positive integer, got '${values.rounds}'`);
  if (!Number.isInteger(connections) || connections < 1) usage(`--connections must be a positive integer, got '${values.connections}'`);
  if (seconds < 1) usage(`--duration must be whole seconds like 5s or 1m, got '${values.duration}'`);
  for (const row of rows) if (!(row in LABELS) && !workerRow(row)) usage(`--only takes ${Object.keys(LABELS).join(',')}; got '${row}'`);
  const delayMs = Number(values['delay-ms']);
  if (!Number.isInteger(delayMs) || delayMs < 0) usage(`--delay-ms must be a whole number of ms, got '${values['delay-ms']}'`);
  if (delayMs > 0 && rows.some(usesH2load)) usage('--delay-ms has no h2load equivalent: leave out the h2c and h2 rows');
  const h2Clients = Number(values['h2-clients']), h2Streams = Number(values['h2-streams']);
  if (!Number.isInteger(h2Clients) || h2Clients < 1) usage(`--h2-clients must be a positive integer, got '${values['h2-clients']}'`);
  if (!Number.isInteger(h2Streams) || h2Streams < 1) usage(`--h2-streams must be a positive integer, got '${values['h2-streams']}'`);
  return { rounds, connections, seconds, rows, maxLoad, delayMs, dryRun: values['dry-run'], baselineCli, h2Clients, h2Streams };
}

const procs = new Set();
let tmpDir;

/** The environment velo runs with: none of the caller's velo settings, warn-level logs. */
function veloEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VELO_|LB_|LOG_LEVEL$|TMUX$|NODE_CLUSTER_SCHED_POLICY$)/.test(k)));
  return { ...env, VELO_LOG_LEVEL: 'warn' };
}

/** A spawned server in its own process group, with the tail of its output kept for error messages. */
function startProc(label, cmd, args, { env = process.env, logFile } = {}) {
  const child = spawn(cmd, args, { cwd: tmpDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const proc = { label, output: '', exit: undefined };
  const keep = (chunk) => { proc.output = (proc.output + chunk).slice(-4000); };
  child.stdout.on('data', keep); child.stderr.on('data', keep);
  proc.exited = new Promise((resolve) => child.on('exit', (code, signal) => { proc.exit = signal ?? `code ${code}`; resolve(); }));
  child.on('error', (err) => { proc.exit = err.message; });
  proc.isDead = () => proc.exit !== undefined;
  proc.tail = () => `${proc.output}${logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : ''}`.trim() || '(no output)';
  proc.kill = async () => {
    const signal = (sig) => { try { process.kill(-child.pid, sig); } catch {} };
    if (!proc.isDead()) { signal('SIGTERM'); await Promise.race([proc.exited, sleep(3000)]); }
    signal('SIGKILL');
  };
  proc.pid = child.pid;
  procs.add(proc);
  return proc;
}

/** velo with its dashboard, inside a detached tmux session on a private tmux socket. */
function startInTmux(label, command, errFile) {
  const socket = `velo-bench-${process.pid}`;
  const conf = path.join(tmpDir, 'tmux.conf');
  fs.writeFileSync(conf, 'set -g remain-on-exit on\nset -g status off\n');
  const tmux = (...a) => spawnSync('tmux', ['-L', socket, '-f', conf, ...a], { env: veloEnv(), encoding: 'utf8' });
  const quoted = command.map((s) => `'${s.replaceAll("'", `'\\''`)}'`).join(' ');
  const started = tmux('new-session', '-d', '-s', 'bench', '-x', '200', '-y', '50', '-c', tmpDir, `exec ${quoted} 2>'${errFile}'`);
  if (started.status !== 0) fail(`tmux new-session failed: ${started.stderr.trim()}`);
  const pane = () => tmux('list-panes', '-t', 'bench', '-F', '#{pane_pid} #{pane_dead} #{pane_dead_status}').stdout.trim().split(' ');
  const pid = Number(pane()[0]);
  const proc = { label, pid };
  proc.isDead = () => { const [, dead, status] = pane(); if (dead === '1' || dead === undefined) proc.exit = `code ${status ?? '?'}`; return proc.exit !== undefined; };
  proc.tail = () => `${tmux('capture-pane', '-p', '-t', 'bench').stdout.trim()}\n${fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8').slice(-2000) : ''}`.trim() || '(no output)';
  proc.kill = async () => {
    try { process.kill(-pid, 'SIGTERM'); } catch {}
    for (let i = 0; i < 30 && !proc.isDead(); i++) await sleep(100);
    try { process.kill(-pid, 'SIGKILL'); } catch {}
    tmux('kill-server');
  };
  procs.add(proc);
  return proc;
}

async function cleanup() {
  await Promise.all([...procs].map((p) => p.kill().catch(() => {})));
  procs.clear();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

const isExecutable = (file) => { try { fs.accessSync(file, fs.constants.X_OK); return true; } catch { return false; } };
const which = (bin) => [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'].map((d) => path.join(d, bin)).find(isExecutable);

let aptUpdated = false;
/** Installs the first of `pkgs` that apt-get can install; only as root. */
function aptInstall(pkgs) {
  if (process.getuid?.() !== 0 || !which('apt-get')) return 'not root or no apt-get';
  const run = (...a) => spawnSync('apt-get', a, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const lastLine = (r) => (r.stderr || String(r.error ?? '')).trim().split('\n').pop();
  if (!aptUpdated) {
    log('apt-get update');
    const r = run('update');
    if (r.status !== 0) return `apt-get update failed: ${lastLine(r)}`;
    aptUpdated = true;
  }
  let why = 'nothing to install';
  for (const pkg of pkgs) {
    log(`apt-get install ${pkg}`);
    const r = run('install', '-y', '--no-install-recommends', pkg);
    if (r.status === 0) return undefined;
    why = `apt-get install ${pkg} failed: ${lastLine(r)}`;
  }
  return why;
}

function ensureTool(bin, pkgs) {
  const found = which(bin);
  if (found) return { bin: found };
  const why = aptInstall(pkgs);
  return which(bin) ? { bin: which(bin) } : { why: why ?? `${bin} still not on PATH after install` };
}

async function capture(cmd, args, timeoutMs) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { kill: async () => child.kill('SIGKILL') };
  procs.add(proc);
  let out = '', err = '';
  child.stdout.on('data', (c) => (out += c)); child.stderr.on('data', (c) => (err += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise((resolve) => child.on('close', resolve).on('error', () => resolve(-1)));
  clearTimeout(timer); procs.delete(proc);
  if (code !== 0) fail(`${path.basename(cmd)} ${args.join(' ')} failed (${code}): ${(err || out).trim().slice(-500)}`);
  return out;
}

/** wrk if present or installable, else autocannon through npx if that installs, else a reason to stop. */
function loadGenerator({ connections, seconds, delayMs }) {
  const wrk = ensureTool('wrk', ['wrk']);
  if (wrk.bin) {
    const version = spawnSync(wrk.bin, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].split(' [')[0].trim();
    // wrk's Lua delay() holds each connection's next request back; latency is timed from the write.
    const script = delayMs > 0 ? path.join(tmpDir, 'delay.lua') : undefined;
    if (script) fs.writeFileSync(script, `function delay()\n  return ${delayMs}\nend\n`);
    return { name: version || 'wrk', run: async (url, secs = seconds) => {
      const out = await capture(wrk.bin, ['-t1', `-c${connections}`, `-d${secs}s`, '--latency', ...(script ? ['-s', script] : []), url], (secs + 30) * 1000);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out), p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
      if (!rps || !p99) fail(`cannot read wrk output:\n${out}`);
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0;
      const requests = Number(/^\s*(\d+) requests in /m.exec(out)?.[1] ?? 0);
      return { rps: Number(rps[1]), requests, p99Ms: Number(p99[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[p99[2]], errors: socketErrors + Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) };
    } };
  }
  log(`wrk unavailable (${wrk.why}); trying autocannon through npx`);
  const probe = spawnSync('npx', ['--yes', 'autocannon', '--version'], { encoding: 'utf8', timeout: 180_000 });
  if (probe.status !== 0) fail(`no load generator: wrk is missing (${wrk.why}) and autocannon cannot be installed with npx (${(probe.stderr || String(probe.error)).trim().split('\n').pop()})`);
  return { name: probe.stdout.trim().split('\n')[0], run: async (url, secs = seconds) => {
    const r = JSON.parse(await capture('npx', ['--yes', 'autocannon', '-c', String(connections), '-d', String(secs), '-j', url], (secs + 60) * 1000));
    return { rps: r.requests.average, requests: r.requests.total, p99Ms: r.latency.p99, errors: (r.non2xx ?? 0) + (r.errors ?? 0) + (r.timeouts ?? 0) };
  } };
}

/** The `q` quantile (nearest rank) of `xs`, sorted in place. */
const quantile = (xs, q) => { xs.sort(); return xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]; };

/**
 * h2load (nghttp2-client) if present or installable, else the reason the HTTP/2 rows are
 * skipped. One thread, `clients` connections with up to `streams` concurrent streams each, for
 * a duration. req/s and the counts come from its summary; p99 from its per-request log
 * (`--log-file`: the time from a request's start to the end of its response), since the summary
 * has only min/max/mean/sd; failed counts non-2xx/3xx and errored (reset or network) requests.
 */
function h2loadGenerator({ seconds, h2Clients: clients, h2Streams: streams }) {
  const tool = ensureTool('h2load', ['nghttp2-client']);
  if (!tool.bin) return { why: `nghttp2-client (h2load) is missing: ${tool.why}` };
  const version = spawnSync(tool.bin, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  let n = 0;
  return { name: version || 'h2load', clients, streams, run: async (url, secs = seconds, expect) => {
    const logFile = path.join(tmpDir, `h2load-${++n}.log`);
    const out = await capture(tool.bin, ['-t1', '-c', String(clients), '-m', String(streams), '-D', String(secs), `--log-file=${logFile}`, url], (secs + 30) * 1000);
    const done = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
    const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    const proto = /Application protocol: (\S+)/.exec(out)?.[1];
    if (!done || !counts) fail(`cannot read h2load output:\n${out}`);
    // Without ALPN h2 h2load would fall back to HTTP/1.1 and still print numbers.
    if (expect && proto !== expect) fail(`h2load ${url} spoke ${proto ?? 'nothing'}, not ${expect}:\n${out}`);
    const [, , , requests, , failed, errored, timeout] = counts.map(Number);
    const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n') : [];
    fs.rmSync(logFile, { force: true });
    const times = new Float64Array(lines.length);
    let k = 0;
    for (const line of lines) {
      const [, status, us] = line.split('\t');
      if (us !== undefined && status !== '-1') times[k++] = Number(us);
    }
    const p99Ms = quantile(times.subarray(0, k), 0.99) / 1000;
    if (!Number.isFinite(p99Ms)) fail(`h2load wrote no per-request times to ${logFile}:\n${out}`);
    const tls = /TLS Protocol: (\S+)\s+Cipher: (\S+)/.exec(out);
    return { rps: Number(done[1]), requests, p99Ms, errors: failed, errored: errored + timeout, proto, tls: tls ? `${tls[1]} ${tls[2]}` : undefined };
  } };
}

/** Ports for servers that cannot listen on port 0 themselves (nginx, velo's --port). */
async function reservePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** One GET of `url` (HTTP/1.1, over TLS for https:, or h2/h2c when `h2` is set), on a connection of its own. */
function probe(url, h2 = false) {
  return new Promise((resolve) => {
    if (h2) {
      const session = http2.connect(url, { rejectUnauthorized: false });
      const done = (res) => { clearTimeout(timer); session.destroy(); resolve(res); };
      const timer = setTimeout(() => done(undefined), 1000);
      session.on('error', () => done(undefined));
      const req = session.request({ ':path': new URL(url).pathname });
      req.on('response', (headers) => { req.resume().on('end', () => done({ status: headers[':status'], backend: headers['x-backend'] })); });
      req.on('error', () => done(undefined));
      return;
    }
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { agent: false, timeout: 1000, rejectUnauthorized: false }, (res) => {
      res.resume().on('end', () => resolve({ status: res.statusCode, backend: res.headers['x-backend'] })).on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy()).on('error', () => resolve(undefined));
  });
}

/** Polls until `url` has answered 200 from `spread` distinct X-Backend values, failing fast if `proc` dies. */
async function waitReady(proc, url, spread = 1, h2 = false) {
  const seen = new Set(), deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc?.isDead()) fail(`${proc.label} exited (${proc.exit}) before answering ${url}:\n${proc.tail()}`);
    const res = await probe(url, h2);
    if (res?.status === 200) seen.add(res.backend ?? '');
    if (seen.size >= spread) return;
    if (res?.status !== 200) await sleep(100);
  }
  fail(`${proc?.label ?? url} did not answer 200 from ${spread} origin(s) at ${url} within ${READY_TIMEOUT_MS / 1000}s (saw ${seen.size})${proc ? `:\n${proc.tail()}` : ''}`);
}

async function waitForLine(proc, pattern) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const m = pattern.exec(proc.output);
    if (m) return m;
    if (proc.isDead() || Date.now() > deadline) fail(`${proc.label} did not print ${pattern} (${proc.exit ?? 'timed out'}):\n${proc.tail()}`);
    await sleep(50);
  }
}

function nginxConf(dir, name, workers, servers, extraHttp = '') {
  return `daemon off; master_process on; worker_processes ${workers};\npid ${dir}/${name}.pid;\nerror_log ${dir}/${name}-error.log warn;\n` +
    `events { worker_connections 4096; }\nhttp {\n  access_log off; default_type text/plain; keepalive_requests 1000000;\n` +
    `  client_body_temp_path ${dir}/${name}-body; proxy_temp_path ${dir}/${name}-proxy;\n${extraHttp}${servers}}\n`;
}

async function startNginx(nginx, name, conf) {
  const file = path.join(tmpDir, `${name}.conf`);
  fs.writeFileSync(file, conf);
  return startProc(name, nginx, ['-p', tmpDir, '-c', file, '-e', path.join(tmpDir, `${name}-error.log`)], { logFile: path.join(tmpDir, `${name}-error.log`) });
}

/** Three origins: one nginx (all cores) with three listeners, or three `velo backend` processes. */
async function startOrigins(nginx) {
  if (nginx) {
    const ports = await reservePorts(3);
    const servers = ports.map((p, i) => `  server { listen 127.0.0.1:${p}; location / { add_header X-Backend origin-${i + 1}; return 200 "origin-${i + 1}\\n"; } }\n`).join('');
    const proc = await startNginx(nginx, 'origins', nginxConf(tmpDir, 'origins', 'auto', servers));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    for (const url of urls) await waitReady(proc, `${url}/`);
    return { urls, kind: 'nginx, one process with three listeners, all cores, fixed 9-byte body' };
  }
  if (!fs.existsSync(CLI)) fail(`${CLI} is missing: run \`npm run build\` first`);
  const urls = [];
  for (let i = 1; i <= 3; i++) {
    const proc = startProc(`origin-${i}`, process.execPath, [CLI, 'backend', '--port', '0', '--name', `origin-${i}`]);
    urls.push((await waitForLine(proc, /listening on (http:\/\/\S+)/))[1]);
    await waitReady(proc, `${urls[i - 1]}/`);
  }
  return { urls, kind: 'three `velo backend` processes (nginx unavailable), fixed 9-byte body' };
}

function veloArgs(port, origins, headless, workers = 1, cli = CLI) {
  return [cli, 'start', ...(headless ? ['--headless'] : []), '--port', String(port), '--admin-port', '0', '--strategy', 'round-robin', '--no-access-log', ...(workers > 1 ? ['--workers', String(workers)] : []), ...origins.flatMap((u) => ['--backend', u])];
}

/** CPU ticks (utime + stime) of `pid` and of every process below it, by pid; the root first. */
function cpuTree(pid) {
  const stats = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces), from field 3: state ppid ... utime(14) stime(15).
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {}
  }
  const tree = new Map();
  const walk = (p) => {
    if (!stats.has(p) || tree.has(p)) return;
    tree.set(p, stats.get(p).ticks);
    for (const [child, s] of stats) if (s.ppid === p) walk(child);
  };
  walk(pid);
  return tree;
}

async function startTargets(rows, origins, nginx, baselineCli) {
  const targets = {};
  const need = (row) => rows.includes(row);
  if ((need('velo') || need('dashboard') || need('store') || rows.some(workerRow)) && !fs.existsSync(CLI)) fail(`${CLI} is missing: run \`npm run build\` first`);
  const [veloPort, dashPort, nginxPort, undiciPort, hp3Port, storePort] = await reservePorts(6);
  if (need('bare')) targets.bare = { url: `${origins[0]}/` };
  if (need('undici')) {
    const proc = startProc('undici forwarder', process.execPath, [path.join(ROOT, 'scripts/undici-forwarder.mjs'), String(undiciPort), ...origins]);
    targets.undici = { url: `http://127.0.0.1:${undiciPort}/`, proc };
  }
  if (need('hp3')) {
    const proc = startProc('http-proxy-3 forwarder', process.execPath, [path.join(ROOT, 'scripts/http-proxy-3-forwarder.mjs'), String(hp3Port), ...origins]);
    targets.hp3 = { url: `http://127.0.0.1:${hp3Port}/`, proc };
  }
  if (need('velo')) {
    const proc = startProc('velo', process.execPath, veloArgs(veloPort, origins, true), { env: veloEnv() });
    targets.velo = { url: `http://127.0.0.1:${veloPort}/`, proc };
  }
  if (need('baseline')) {
    const [port] = await reservePorts(1);
    const proc = startProc('velo (baseline build)', process.execPath, veloArgs(port, origins, true, 1, baselineCli), { env: veloEnv() });
    targets.baseline = { url: `http://127.0.0.1:${port}/`, proc };
  }
  for (const row of rows.filter(workerRow)) {
    const { workers, rr } = workerRow(row);
    const [port] = await reservePorts(1);
    // Without the variable velo leaves accepts to the kernel (SCHED_NONE); rr: the primary accepts.
    const proc = startProc(label(row), process.execPath, veloArgs(port, origins, true, workers), { env: { ...veloEnv(), ...(rr ? { NODE_CLUSTER_SCHED_POLICY: 'rr' } : {}) } });
    targets[row] = { url: `http://127.0.0.1:${port}/`, proc, workers };
  }
  if (need('store')) {
    // velo with access_log.store on: the same flags plus a config whose only setting is the store.
    const file = path.join(tmpDir, 'store.yaml');
    fs.writeFileSync(file, `access_log:\n  enabled: false\n  store: { path: ${path.join(tmpDir, 'store.db')} }\n`);
    const proc = startProc('velo+store', process.execPath, [...veloArgs(storePort, origins, true), '-c', file], { env: veloEnv() });
    targets.store = { url: `http://127.0.0.1:${storePort}/`, proc };
  }
  const upstream = `  upstream origins { ${origins.map((u) => `server ${u.slice(7)};`).join(' ')} keepalive 64; keepalive_requests 1000000; }\n`;
  const location = ' location / { proxy_pass http://origins; proxy_http_version 1.1; proxy_set_header Connection "";\n' +
    '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-Proto $scheme; } }\n';
  if (need('nginx')) {
    const server = `  server { listen 127.0.0.1:${nginxPort};${location}`;
    targets.nginx = { url: `http://127.0.0.1:${nginxPort}/`, proc: await startNginx(nginx, 'nginx-lb', nginxConf(tmpDir, 'nginx-lb', 1, server, upstream)) };
  }
  // HTTP/2 rows: one velo with `listen.h2c`, one velo over TLS (h2 by ALPN, HTTP/1.1 for wrk),
  // one nginx with an h2c listener and a TLS listener, each with the same flags as its HTTP/1.1 row.
  if (need('velo-h2c')) {
    const [port] = await reservePorts(1);
    const file = path.join(tmpDir, 'h2c.yaml');
    fs.writeFileSync(file, 'listen:\n  h2c: true\n');
    const proc = startProc('velo (h2c)', process.execPath, [...veloArgs(port, origins, true), '-c', file], { env: veloEnv() });
    targets['velo-h2c'] = { url: `http://127.0.0.1:${port}/`, proc, h2: true };
  }
  if (need('velo-h2') || need('velo-h1tls')) {
    const [port] = await reservePorts(1);
    const file = path.join(tmpDir, 'tls.yaml');
    fs.writeFileSync(file, `listen:\n  tls: { cert: ${TLS_CERT}, key: ${TLS_KEY} }\n`);
    const proc = startProc('velo (TLS)', process.execPath, [...veloArgs(port, origins, true), '-c', file], { env: veloEnv() });
    for (const row of ['velo-h2', 'velo-h1tls']) if (need(row)) targets[row] = { url: `https://127.0.0.1:${port}/`, proc, h2: row === 'velo-h2' };
  }
  if (need('nginx-h2c') || need('nginx-h2') || need('nginx-h1tls')) {
    const [h2cPort, tlsPort] = await reservePorts(2);
    // nginx 1.22's default ssl_protocols still include TLSv1 and stop at 1.2 unless 1.3 is named; velo (Node) offers 1.2 and 1.3.
    const servers = `  server { listen 127.0.0.1:${h2cPort} http2;${location}` +
      `  server { listen 127.0.0.1:${tlsPort} ssl http2; ssl_certificate ${TLS_CERT}; ssl_certificate_key ${TLS_KEY}; ssl_protocols TLSv1.2 TLSv1.3;\n  ${location}`;
    const proc = await startNginx(nginx, 'nginx-h2', nginxConf(tmpDir, 'nginx-h2', 1, servers, upstream));
    if (need('nginx-h2c')) targets['nginx-h2c'] = { url: `http://127.0.0.1:${h2cPort}/`, proc, h2: true };
    for (const row of ['nginx-h2', 'nginx-h1tls']) if (need(row)) targets[row] = { url: `https://127.0.0.1:${tlsPort}/`, proc, h2: row === 'nginx-h2' };
  }
  if (need('dashboard')) {
    const proc = startInTmux('velo+dashboard', [process.execPath, ...veloArgs(dashPort, origins, false)], path.join(tmpDir, 'dashboard.err'));
    targets.dashboard = { url: `http://127.0.0.1:${dashPort}/`, proc };
  }
  for (const target of Object.values(targets)) await waitReady(target.proc, target.url, target.proc ? origins.length : 1, target.h2);
  return targets;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b), h = s.length >> 1; return s.length === 0 ? NaN : s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function summarize(results) {
  const rows = Object.entries(results).filter(([row]) => !isH2Row(row)).map(([row, runs]) => ({ row, rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99Ms)), cpu: median(runs.filter((r) => r.cpu).map((r) => r.cpu.total)), runs, errors: runs.reduce((a, r) => a + r.errors, 0) }));
  const by = Object.fromEntries(rows.map((r) => [r.row, r]));
  const ratio = (a, b) => (by[a] && by[b] ? `${(by[a].rps / by[b].rps).toFixed(2)}x req/s, ${(by[a].p99 / by[b].p99).toFixed(2)}x p99` : 'n/a (not measured)');
  const ratios = [['velo / undici forwarder (the bar: >= 1.00x req/s, <= 1.00x p99)', ratio('velo', 'undici')], ...(by.baseline ? [['velo (baseline build) / undici forwarder', ratio('baseline', 'undici')], ['velo / velo (baseline build)', ratio('velo', 'baseline')]] : []), ['velo / http-proxy-3 forwarder', ratio('velo', 'hp3')], ['velo / bare origin', ratio('velo', 'bare')], ['velo / nginx', ratio('velo', 'nginx')]];
  if (by.dashboard) ratios.push(['velo+dashboard / velo', ratio('dashboard', 'velo')]);
  for (const r of rows.filter((x) => workerRow(x.row))) {
    ratios.push([`${label(r.row)} / velo (the bar: > 1.00x req/s, <= 1.00x p99)`, ratio(r.row, 'velo')], [`${label(r.row)} / undici forwarder`, ratio(r.row, 'undici')]);
  }
  // Per process of a worker row: the primary (control plane) and each worker, CPU µs per request served.
  for (const r of rows.filter((x) => workerRow(x.row))) {
    const runs = r.runs.filter((x) => x.cpu);
    if (runs.length === 0) continue;
    const n = workerRow(r.row).workers;
    const workers = Array.from({ length: n }, (_, i) => median(runs.map((x) => x.cpu.workers[i] ?? NaN).filter(Number.isFinite)));
    const primaryMsPerS = median(runs.map((x) => x.cpu.primaryMsPerS));
    ratios.push([`${label(r.row)} CPU per request (medians)`, `primary ${fmt(median(runs.map((x) => x.cpu.primary)), 1)} µs (${fmt(primaryMsPerS, 0)} ms CPU/s), workers ${workers.map((w) => fmt(w, 1)).join(' · ')} µs (each worker's CPU over all requests)`]);
  }
  const cpuCell = (r) => (Number.isFinite(r.cpu) ? fmt(r.cpu, 1) : '—');
  const table = ['| target | req/s (median) | p99 ms (median) | CPU µs/req (median) | req/s per round | errors |', '| --- | ---: | ---: | ---: | --- | ---: |',
    ...rows.map((r) => `| ${label(r.row)} | ${fmt(r.rps)} | ${fmt(r.p99, 2)} | ${cpuCell(r)} | ${r.runs.map((x) => fmt(x.rps)).join(' · ')} | ${r.errors} |`)];
  if (by.store) ratios.push(['velo+store / velo (the bar: >= 0.95x req/s)', ratio('store', 'velo')]);
  return { table, ratios, rows };
}

/** The HTTP/2 table (`--h2`): h2load rows and the HTTP/1.1-over-TLS rows measured with wrk, with the rows skipped and why. */
function summarizeH2(results, { skipped, h2load, connections }) {
  const all = Object.fromEntries(Object.entries(results).map(([row, runs]) => [row, {
    row, runs, rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99Ms)), cpu: median(runs.filter((r) => r.cpu).map((r) => r.cpu.total)),
    errors: runs.reduce((a, r) => a + r.errors, 0), errored: runs.reduce((a, r) => a + (r.errored ?? 0), 0),
  }]));
  const rows = Object.values(all).filter((r) => isH2Row(r.row));
  const x = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
  const ratio = (a, b) => (all[a] && all[b] ? `${x(all[a].rps, all[b].rps)} req/s, ${x(all[a].p99, all[b].p99)} p99, ${x(all[a].cpu, all[b].cpu)} CPU/req` : undefined);
  const tool = (row) => (usesH2load(row) ? `h2load -c${h2load?.clients} -m${h2load?.streams}` : `wrk -c${connections}`);
  const cpuCell = (r) => (Number.isFinite(r.cpu) ? fmt(r.cpu, 1) : '—');
  const errCell = (r) => (usesH2load(r.row) ? `${r.errors} failed, ${r.errored} errored` : String(r.errors));
  const table = ['| target | load | req/s (median) | p99 ms (median) | CPU µs/req (median) | req/s per round | errors |', '| --- | --- | ---: | ---: | ---: | --- | ---: |',
    ...rows.map((r) => `| ${label(r.row)} | ${tool(r.row)} | ${fmt(r.rps)} | ${fmt(r.p99, 2)} | ${cpuCell(r)} | ${r.runs.map((y) => fmt(y.rps)).join(' · ')} | ${errCell(r)} |`),
    ...skipped.map(([row, why]) => `| ${label(row)} | — | skipped: ${why} | | | | |`)];
  const ratios = [
    ['velo h2c / nginx h2c', ratio('velo-h2c', 'nginx-h2c')],
    ['velo h2c / nginx h2 (TLS)', ratio('velo-h2c', 'nginx-h2')],
    ['velo h2 (TLS) / nginx h2 (TLS)', ratio('velo-h2', 'nginx-h2')],
    ['velo HTTP/1.1 (TLS) / nginx HTTP/1.1 (TLS)', ratio('velo-h1tls', 'nginx-h1tls')],
    ['velo h2 (TLS) / velo HTTP/1.1 (TLS) (h2load against wrk at different concurrency: CPU/req is the comparable figure)', ratio('velo-h2', 'velo-h1tls')],
    ['velo h2c / velo (plain HTTP/1.1, wrk; the same caveat)', ratio('velo-h2c', 'velo')],
  ].filter(([, v]) => v !== undefined);
  const tls = rows.map((r) => [label(r.row), [...new Set(r.runs.map((y) => y.tls).filter(Boolean))].join(' / ')]).filter(([, t]) => t).map(([l, t]) => `${l}: ${t}`);
  return { table, ratios, rows, tls, skipped };
}

function writeDoc({ table, ratios }, { opts, loadgen, originKind, nginxVersion, loads, h2 }) {
  const cpus = os.cpus(), has = (row) => opts.rows.includes(row);
  const old = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '';
  const kept = old.includes(MARKER) ? old.slice(old.indexOf(MARKER) + MARKER.length) : old ? `\n\n${old}` : '\n';
  const method = [
    `${loadgen} with one thread, ${opts.connections} connections${opts.delayMs > 0 ? ` each waiting ${opts.delayMs} ms between requests (Lua \`delay()\`)` : ''}, ${opts.seconds}s per run, \`GET /\`; ${opts.rounds} interleaved round(s) after a 1s warm-up of each target; medians reported.`,
    `Origins: ${originKind}.`,
    has('undici') ? 'undici forwarder: `scripts/undici-forwarder.mjs`, node:http in front of one keep-alive undici Pool per origin, round robin, nothing else (no health checks, no header rewriting, no retries).' : '',
    has('hp3') ? 'http-proxy-3 forwarder: `scripts/http-proxy-3-forwarder.mjs`, the same round robin on http-proxy-3 1.23 `web()` with a keep-alive `http.Agent`.' : '',
    has('velo') || has('dashboard') ? 'velo: `velo start --headless --strategy round-robin --no-access-log` over the three origins, health checks on, `VELO_LOG_LEVEL=warn`, no config file.' : '',
    has('store') ? 'velo+store: the same with `-c store.yaml` setting only `access_log.store` (SQLite in the temp directory; every request stored).' : '',
    has('dashboard') ? 'velo+dashboard: the same without `--headless`, rendering into a detached 200x50 tmux session.' : '',
    opts.rows.some(workerRow) ? 'velo (N workers): the same with `--workers N` (a control-plane primary and N forwarding workers on node:cluster); accepts spread by the kernel (velo\'s default, SCHED_NONE), or with `, rr` by `NODE_CLUSTER_SCHED_POLICY=rr` (the primary accepts and passes each connection to a worker).' : '',
    'CPU µs/req: utime+stime from `/proc/PID/stat` of the target\'s process and every process below it (a velo primary and its workers; nginx\'s master and worker), read before and after each wrk run, over the requests wrk counted; the bare origin has none of its own.',
    loads ? `1-minute load average before the bench started, then before each later round (the machine is shared; those include the bench itself): ${loads.map((l) => l.toFixed(2)).join(' · ')}.` : '',
    has('nginx') ? `nginx${nginxVersion ? ` ${nginxVersion}` : ''} as the balancer: 1 worker, round robin, \`upstream { keepalive 64; }\`, \`proxy_http_version 1.1\`, \`Connection ""\`, X-Forwarded-For/X-Real-IP/X-Forwarded-Proto set as velo sets them.` : '',
    `Everything runs on 127.0.0.1 and shares the ${cpus.length} cores: compare rows of one run, not numbers across machines.`,
  ].filter(Boolean).join(' ');
  const text = `# Performance\n\n_Generated by \`npm run bench\`; everything above the bench:end marker is rewritten on each run._\n\n` +
    `- Date: ${new Date().toISOString().slice(0, 10)}\n- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${os.type()} ${os.release()}\n- Node: ${process.version}\n\n` +
    `## Method\n\n${method}\n\n## Results\n\n${table.join('\n')}\n\n${ratios.map(([k, v]) => `- ${k}: ${v}`).join('\n')}\n\n${h2 ? h2Section(h2, { opts, loadgen, nginxVersion }) : ''}${MARKER}${kept}`;
  fs.mkdirSync(path.dirname(DOC), { recursive: true });
  fs.writeFileSync(DOC, text);
}

/** The generated "HTTP/2 (h2load)" section of docs/performance.md. */
function h2Section({ table, ratios, tls, rows }, { opts, loadgen, nginxVersion }) {
  const has = (row) => rows.some((r) => r.row === row) || opts.rows.includes(row);
  const h2load = opts.h2load;
  const method = [
    h2load?.run ? `${h2load.name} (Debian's nghttp2-client) with one thread, ${h2load.clients} clients (connections), at most ${h2load.streams} concurrent streams each, ${opts.seconds}s per run, \`GET /\`, in the same interleaved rounds and after the same 1s warm-up as the rows above.` : '',
    h2load?.run ? 'p99: the 99th percentile (nearest rank) of the per-request times h2load writes with `--log-file` (from a request\'s start to the end of its response), over every request of the run; h2load\'s own summary has only min/max/mean/sd. Errors: h2load\'s `failed` (non-2xx/3xx responses and errored requests) and `errored` (stream resets, network failures, timeouts).' : '',
    has('velo-h1tls') || has('nginx-h1tls') ? `HTTP/1.1 (TLS) rows: ${loadgen} as above (${opts.connections} connections) on the same TLS listener; wrk offers no ALPN, so the server picks HTTP/1.1.` : '',
    'velo h2c: the velo row\'s flags plus `-c h2c.yaml` with `listen: { h2c: true }` (prior knowledge; the listener still serves HTTP/1.1). velo (TLS): the same with `listen.tls` on `fixtures/tls/cert.pem` (RSA 2048, self-signed) and `listen.http2` at its default (on): h2 by ALPN, else HTTP/1.1. Backends are spoken to in HTTP/1.1 in every row.',
    has('nginx-h2c') || has('nginx-h2') || has('nginx-h1tls') ? `nginx${nginxVersion ? ` ${nginxVersion}` : ''}: one process, 1 worker, the nginx row's upstream and proxy settings, with \`listen ... http2\` (h2c with prior knowledge only: nginx 1.22 does not serve HTTP/1.1 on that port) and \`listen ... ssl http2\` with the same certificate and \`ssl_protocols TLSv1.2 TLSv1.3\` (1.22's default stops at TLSv1.2); \`keepalive_requests 1000000\` covers HTTP/2 connections too.` : '',
    tls.length > 0 ? `TLS as h2load negotiated it: ${tls.join(', ')}.` : '',
    'CPU µs/req as above: the target\'s process tree over the requests the load generator counted.',
  ].filter(Boolean).join(' ');
  return `## HTTP/2 (h2load)\n\n${method}\n\n${table.join('\n')}\n\n${ratios.map(([k, v]) => `- ${k}: ${v}`).join('\n')}${ratios.length ? '\n\n' : ''}`;
}

/** CPU µs per request over one run: the whole tree, and for a worker row its primary and each worker (busiest first). */
function cpuPerRequest(target, before, after, requests, elapsedMs) {
  if (!(requests > 0)) return undefined;
  const us = (pid) => (((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) / CLK_TCK) * 1e6 / requests;
  const pids = [...after.keys()];
  const root = target.proc.pid;
  const cpu = { total: pids.reduce((sum, pid) => sum + us(pid), 0) };
  if (target.workers) {
    cpu.primary = us(root);
    cpu.primaryMsPerS = (((after.get(root) ?? 0) - (before.get(root) ?? 0)) / CLK_TCK) * 1000 / (elapsedMs / 1000);
    cpu.workers = pids.filter((p) => p !== root).map(us).sort((a, b) => b - a);
  }
  return cpu;
}

/** Waits (bounded) while the 1-minute load average is above `maxLoad`; returns the load it measured at. */
async function calmMachine(maxLoad) {
  const deadline = Date.now() + LOAD_WAIT_MS;
  for (;;) {
    const load = os.loadavg()[0];
    if (load <= maxLoad || Date.now() >= deadline) {
      if (load > maxLoad) log(`load average ${load.toFixed(2)} still above ${maxLoad} after ${LOAD_WAIT_MS / 60_000} min; measuring anyway (noted in the doc)`);
      return load;
    }
    log(`load average ${load.toFixed(2)} > ${maxLoad}: waiting ${LOAD_POLL_MS / 1000}s`);
    await sleep(LOAD_POLL_MS);
  }
}

async function main() {
  const opts = parseOptions();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'velo-bench-'));
  fs.chmodSync(tmpDir, 0o755);
  const loadgen = loadGenerator(opts);
  const hadSystemNginx = fs.existsSync('/run/nginx.pid');
  const nginx = ensureTool('nginx', ['nginx-light', 'nginx']);
  if (!hadSystemNginx && fs.existsSync('/run/nginx.pid')) spawnSync(nginx.bin, ['-s', 'quit']);
  if (!nginx.bin) log(`nginx unavailable (${nginx.why}); origins are \`velo backend\` processes and the nginx row is skipped`);
  // HTTP/2 rows that cannot run are left out with a reason, printed and written into the table.
  const h2load = opts.rows.some(usesH2load) ? h2loadGenerator(opts) : undefined;
  const skipped = [];
  for (const row of opts.rows.filter(isH2Row)) {
    const why = usesH2load(row) && h2load?.why ? h2load.why
      : row.startsWith('nginx-') && !nginx.bin ? `nginx unavailable (${nginx.why})`
      : H2_ROWS[row] === 'h1tls' && !loadgen.name.startsWith('wrk') ? 'HTTP/1.1 over TLS is measured with wrk, which is missing'
      : undefined;
    if (why) { skipped.push([row, why]); log(`skipping ${label(row)}: ${why}`); }
  }
  const rows = opts.rows.filter((r) => (r !== 'nginx' || nginx.bin) && !skipped.some(([s]) => s === r));
  if (rows.length === 0) fail('nothing to measure');
  if (rows.includes('dashboard') && !ensureTool('tmux', ['tmux']).bin) fail('the dashboard row needs tmux, which is missing and could not be installed');
  const nginxVersion = nginx.bin ? /nginx\/(\S+)/.exec(spawnSync(nginx.bin, ['-v'], { encoding: 'utf8' }).stderr)?.[1] : undefined;
  // Wait for a calm machine before starting anything: from then on the load average counts the bench's own processes.
  const startLoad = await calmMachine(opts.maxLoad);
  const origins = await startOrigins(nginx.bin);
  const targets = await startTargets(rows, origins.urls, nginx.bin, opts.baselineCli);
  const checkAlive = () => { for (const t of Object.values(targets)) if (t.proc?.isDead()) fail(`${t.proc.label} died (${t.proc.exit}):\n${t.proc.tail()}`); };
  if (opts.delayMs > 0 && !loadgen.name.startsWith('wrk')) fail('--delay-ms needs wrk');
  // The load generator of a row: h2load for h2c and h2 (checking it spoke that protocol), wrk (or autocannon) for the rest.
  const run = (row, secs) => (usesH2load(row) ? h2load.run(targets[row].url, secs, H2_ROWS[row]) : loadgen.run(targets[row].url, secs));
  log(`${loadgen.name}${h2load?.run ? `, ${h2load.name}` : ''}; warming up ${rows.join(', ')}`);
  for (const row of rows) { await run(row, 1); checkAlive(); }
  const results = Object.fromEntries(rows.map((r) => [r, []]));
  const loads = [];
  for (let round = 0; round < opts.rounds; round++) {
    loads.push(round === 0 ? startLoad : os.loadavg()[0]);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(i + round) % rows.length];
      const target = targets[row];
      const before = target.proc?.pid ? cpuTree(target.proc.pid) : undefined;
      const startedAt = Date.now();
      const r = await run(row);
      if (before) r.cpu = cpuPerRequest(target, before, cpuTree(target.proc.pid), r.requests, Date.now() - startedAt);
      checkAlive();
      log(`round ${round + 1}/${opts.rounds} ${label(row)}: ${fmt(r.rps)} req/s, p99 ${fmt(r.p99Ms, 2)} ms${r.cpu ? `, ${fmt(r.cpu.total, 1)} CPU µs/req` : ''}${r.errors ? `, ${r.errors} errors` : ''}${r.errored ? ` (${r.errored} errored)` : ''}`);
      results[row].push(r);
    }
  }
  const summary = summarize(results);
  console.log(`\n${summary.table.join('\n')}\n\n${summary.ratios.map(([k, v]) => `${k}: ${v}`).join('\n')}`);
  for (const r of summary.rows) if (r.errors) log(`warning: ${label(r.row)} had ${r.errors} socket errors or non-2xx responses`);
  const h2 = opts.rows.some(isH2Row) ? summarizeH2(results, { skipped, h2load: h2load?.run ? h2load : undefined, connections: opts.connections }) : undefined;
  if (h2) {
    console.log(`\nHTTP/2 (h2load)\n\n${h2.table.join('\n')}\n\n${h2.ratios.map(([k, v]) => `${k}: ${v}`).join('\n')}`);
    for (const r of h2.rows) if (r.errors) log(`warning: ${label(r.row)} had ${r.errors} failed requests or socket errors`);
  }
  if (opts.dryRun) return log('--dry-run: docs/performance.md left as it was');
  writeDoc(summary, { opts: { ...opts, rows, h2load: h2load?.run ? h2load : undefined }, loadgen: loadgen.name, originKind: origins.kind, nginxVersion, loads, h2 });
  log(`wrote ${path.relative(process.cwd(), DOC)}`);
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopping = true; log(`${sig}: stopping`); cleanup().finally(() => process.exit(130)); });
process.on('exit', () => { for (const p of procs) if (p.pid) try { process.kill(-p.pid, 'SIGKILL'); } catch {} });
main().then(cleanup, async (err) => {
  await cleanup();
  if (stopping) return;
  const isUsage = err instanceof UsageError || String(err?.code).startsWith('ERR_PARSE_ARGS');
  log(err instanceof BenchError || isUsage ? err.message : err?.stack ?? String(err));
  process.exit(isUsage ? 2 : 1);
});
