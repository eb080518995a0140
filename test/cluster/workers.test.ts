/**
 * `--workers 2` on real sockets: the control plane in this test process, two forked forwarding
 * workers (src/cluster/worker-main.ts under tsx), real test backends. Each test asserts what an
 * operator would notice: every worker serves, counters add up exactly, a change reaches every
 * worker before the call returns, a dead worker comes back, a rolling restart refuses nothing.
 */
import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import { Agent, request } from 'undici';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Running } from '../../src/cli/start.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { eventually, startBackends } from '../integration/harness.js';

interface Cluster {
  running: Running;
  url: string;
  admin: string;
  api: <T = any>(method: string, path: string, body?: unknown) => Promise<{ status: number; json: T }>;
}

async function startCluster(t: ExecutionContext, yaml: string, workers = 2, file?: string): Promise<Cluster> {
  const flags = { port: 0, host: '127.0.0.1', adminPort: 0 };
  const config = file === undefined ? parseConfigText(yaml, undefined, { flags }) : await loadConfig({ file, env: {}, flags });
  const reloader = file === undefined ? undefined : () => loadConfig({ file, env: {}, flags });
  const running = await launch(config, reloader, new Logger('silent'), { accessLog: false, watchFile: false, workers });
  t.teardown(() => running.shutdown());
  const admin = `http://127.0.0.1:${running.engine.adminAddress!.port}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${admin}${path}`, { method: method as 'GET', body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { 'content-type': 'application/json' } });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  return { running, url: `http://127.0.0.1:${running.engine.address.port}`, admin, api };
}

/** One request on a new connection (`Connection: close`), so the kernel picks a worker for each. */
function fresh(url: string, path = '/'): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(`${url}${path}`, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
  });
}

/** `n` fresh-connection requests, `concurrency` at a time; their statuses. */
async function burst(url: string, n: number, concurrency = 20, path = '/'): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        statuses.push(await fresh(url, path));
      }
    }),
  );
  return statuses;
}

/** Sends fresh-connection requests until every worker has answered some since `before` (bounded). */
async function untilEveryWorkerServed(c: Cluster): Promise<void> {
  const before = new Map<number, number>((await c.api('GET', '/api/workers')).json.workers.map((w: any) => [w.id, w.requests]));
  await eventually(
    async () => {
      await burst(c.url, 20, 10);
      const now = (await c.api('GET', '/api/workers')).json.workers;
      return now.every((w: any) => w.requests > (before.get(w.id) ?? 0));
    },
    15_000,
    'every worker to answer requests',
  );
}

const POOL = (extra = ''): string => `strategy: round-robin\nhealth_check: { interval: 200ms, timeout: 2s, rise: 1, fall: 3 }\n${extra}`;

test.serial('every worker serves, and velo_requests_total, /api/metrics and the snapshot all count exactly 200', async (t) => {
  const backends = await startBackends(t, 2);
  const c = await startCluster(t, `${POOL()}backends: [${backends.map((b) => b.url).join(', ')}]\n`);
  const statuses = await burst(c.url, 200, 20);
  t.deepEqual([...new Set(statuses)], [200]);
  await eventually(async () => (await c.api('GET', '/api/workers')).json.workers.reduce((n: number, w: any) => n + w.requests, 0) === 200, 5000, 'the workers to report 200');
  const workers = (await c.api('GET', '/api/workers')).json.workers;
  t.is(new Set(workers.map((w: any) => w.pid)).size, 2, 'two distinct worker processes');
  t.true(workers.every((w: any) => w.pid !== process.pid && w.requests > 0), `every worker served: ${JSON.stringify(workers.map((w: any) => w.requests))}`);
  const text = await (await request(`${c.admin}/metrics`)).body.text();
  const total = [...text.matchAll(/^velo_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  t.is(total, 200, 'velo_requests_total');
  // The snapshot behind /api/metrics is rebuilt every 250 ms tick.
  await eventually(async () => (await c.api('GET', '/api/metrics')).json.totals.total === 200, 2000, '/api/metrics to count 200');
  c.running.engine.sampler.tick();
  t.is(c.running.engine.snapshot.totals.requests, 200, 'the snapshot the dashboard renders');
  t.is(c.running.engine.snapshot.workers?.count, 2);
  t.is(backends[0]!.requests + backends[1]!.requests, 200);
  t.regex(text, /^velo_workers\{state="ready"\} 2$/m);
});

test.serial('a drain from the admin API reaches every worker before it returns: 0 requests to the drained backend from any worker', async (t) => {
  const backends = await startBackends(t, 2);
  const c = await startCluster(t, `${POOL()}backends: [${backends.map((b) => b.url).join(', ')}]\n`);
  await untilEveryWorkerServed(c);
  const drained = await c.api('POST', `/api/pools/default/backends/${encodeURIComponent(backends[0]!.url)}/drain`);
  t.is(drained.status, 200);
  const before = backends[0]!.requests;
  await untilEveryWorkerServed(c);
  const statuses = await burst(c.url, 100, 20);
  t.deepEqual([...new Set(statuses)], [200]);
  t.is(backends[0]!.requests, before, 'no worker sent a request to the drained backend');
});

test.serial('a backend failing on one worker has its breaker opened for every worker, and a killed worker comes back', async (t) => {
  const [good] = await startBackends(t, 1);
  let badHits = 0;
  const bad = http.createServer((_req, res) => {
    badHits += 1;
    res.writeHead(502).end('bad');
  });
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => bad.close(() => r())));
  const badUrl = `http://127.0.0.1:${(bad.address() as { port: number }).port}`;
  const yaml = `${POOL('circuit_breaker: { failure_threshold: 3, reset_timeout: 60s, count_5xx: true }\nretry: { attempts: 0 }\nhealth_check: false\n')}backends: [${good!.url}, ${badUrl}]\n`.replace(/health_check: \{[^\n]*\n/, '');
  const c = await startCluster(t, yaml);
  // One keep-alive connection: every request lands on the same worker.
  const one = new Agent({ connections: 1 });
  t.teardown(() => one.close());
  await eventually(
    async () => {
      const res = await request(c.url, { dispatcher: one });
      await res.body.text();
      c.running.engine.sampler.tick();
      return c.running.engine.snapshot.pools[0]!.backends.find((b) => b.url === badUrl)?.circuit === 'open';
    },
    5000,
    'the breaker to open',
  );
  const hits = badHits;
  await untilEveryWorkerServed(c);
  t.is(badHits, hits, 'no worker sent another request to the backend whose breaker is open');

  const victim = (await c.api('GET', '/api/workers')).json.workers[0];
  process.kill(victim.pid, 'SIGKILL');
  await eventually(
    async () => {
      const w = (await c.api('GET', '/api/workers')).json;
      return w.workers.length === 2 && w.workers.every((x: any) => x.state === 'ready' && x.pid !== victim.pid) && w.restarts === 1;
    },
    15_000,
    'a replacement worker',
  );
  const events = (await c.api('GET', '/api/events')).json.events as Array<{ message: string }>;
  t.true(events.some((e) => e.message.includes(`(pid ${victim.pid}) died (signal SIGKILL)`)), 'the death is an event');
  const statuses = await burst(c.url, 40, 10);
  t.deepEqual([...new Set(statuses)], [200], 'the new worker forwards with the current state: the open breaker too');
  t.is(badHits, hits);
});

test.serial('a rolling restart under 50 concurrent keep-alive clients refuses nothing and replaces every worker', async (t) => {
  const backends = await startBackends(t, 2);
  const c = await startCluster(t, `${POOL()}backends: [${backends.map((b) => b.url).join(', ')}]\n`);
  const before = (await c.api('GET', '/api/workers')).json.workers.map((w: any) => w.pid);
  const agent = new Agent({ connections: 50, keepAliveTimeout: 10_000 });
  t.teardown(() => agent.close());
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 30_000;
  const loops = Array.from({ length: 50 }, async () => {
    while (!stop && Date.now() < deadline) {
      try {
        const res = await request(c.url, { dispatcher: agent });
        await res.body.text();
        if (res.statusCode === 200) ok += 1;
        else failures.push(`status ${res.statusCode}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  await eventually(() => ok > 200, 10_000, 'traffic to flow');
  const restarted = await c.api('POST', '/api/workers/restart');
  t.is(restarted.status, 200);
  t.is(restarted.json.replaced, 2);
  const atRestart = ok;
  await eventually(() => ok > atRestart + 200, 10_000, 'traffic after the restart');
  stop = true;
  await Promise.all(loops);
  t.deepEqual(failures, [], `${ok} requests answered 200`);
  const after = (await c.api('GET', '/api/workers')).json.workers.map((w: any) => w.pid);
  t.is(after.length, 2);
  t.true(after.every((pid: number) => !before.includes(pid)), 'every worker is new');
});

test.serial('max_connections is global: each of 2 workers gets half, the backend never sees more than the limit', async (t) => {
  let concurrent = 0;
  let peak = 0;
  const slow = http.createServer((_req, res) => {
    concurrent += 1;
    peak = Math.max(peak, concurrent);
    setTimeout(() => {
      concurrent -= 1;
      res.end('ok');
    }, 150);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => slow.close(() => r())));
  const slowUrl = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
  const c = await startCluster(t, `health_check: false\nmax_connections: 4\nqueue: { size: 100, timeout: 10s }\nbackends: [${slowUrl}]\n`);
  const statuses = await burst(c.url, 40, 20);
  t.deepEqual([...new Set(statuses)], [200]);
  t.true(peak <= 4, `the backend saw at most 4 at once (saw ${peak})`);
  t.true(peak >= 2, `and more than one worker's share was used (saw ${peak})`);
});

// One cluster per test: node:cluster shares one listening handle per address, so two clusters
// on 127.0.0.1:0 in one process would share a port.
test.serial('a rate limit counts a client once over every worker: burst 10 is exactly 10 x 200', async (t) => {
  const [b] = await startBackends(t, 1);
  const limited = await startCluster(t, `health_check: false\nrate_limit: { rps: 0.001, burst: 10 }\nbackends: [${b!.url}]\n`);
  const answers = await burst(limited.url, 30, 6);
  t.is(answers.filter((s) => s === 200).length, 10, 'burst 10 across both workers');
  t.is(answers.filter((s) => s === 429).length, 20);
});

test.serial('graceful shutdown drains every worker: a slow request in flight completes', async (t) => {
  const backends = await startBackends(t, 1);
  const c = await startCluster(t, `health_check: false\nbackends: [${backends[0]!.url}]\n`);
  const slow = fresh(c.url, '/delay/600');
  await eventually(() => c.running.engine.requestsInFlight > 0 || backends[0]!.requests > 0, 5000, 'the slow request to arrive');
  const summary = await c.running.shutdown();
  t.is(await slow, 200);
  t.is(summary.cut, 0);
  t.false(summary.forced);
});

test.serial('a reload is in force on every worker when it returns; a rejected one leaves every worker on the old config', async (t) => {
  const backends = await startBackends(t, 2);
  const dir = await mkdtemp(join(tmpdir(), 'velo-workers-'));
  const file = join(dir, 'velo.config.yaml');
  const both = `${POOL()}backends: [${backends.map((b) => b.url).join(', ')}]\n`;
  await writeFile(file, both);
  const c = await startCluster(t, '', 2, file);
  await untilEveryWorkerServed(c);
  await writeFile(file, `${POOL()}backends: [${backends[1]!.url}]\n`);
  const reloaded = await c.api('POST', '/api/reload');
  t.is(reloaded.status, 200);
  t.is(reloaded.json.removed, 1);
  const before = backends[0]!.requests;
  await untilEveryWorkerServed(c);
  t.is(backends[0]!.requests, before, 'no worker forwards to the backend the reload removed');

  await writeFile(file, `${POOL()}backends: [${backends.map((b) => b.url).join(', ')}]\nmax_connections: -1\n`);
  const rejected = await c.api('POST', '/api/reload');
  t.is(rejected.status, 400);
  await untilEveryWorkerServed(c);
  t.is(backends[0]!.requests, before, 'the rejected file changed nothing on any worker');
});
