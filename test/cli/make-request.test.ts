/**
 * The built `velo make-request` against a real in-process velo: distribution per backend from
 * X-Backend, status codes, latency percentiles, `Success: N, Fails: M`, exit codes, and
 * `-c 100 -n 1000` really running 100 requests at a time.
 */
import test from 'ava';
import { createServer } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { reportData } from '../../src/cli/make-request.js';
import { startBackends } from '../integration/harness.js';
import { NO_HEALTH, runVelo, startAdminVelo } from '../admin/admin-harness.js';

/** `backends:` with names, so the admin API reports them by name. */
function named(urls: string[], names: string[]): string {
  return `${NO_HEALTH}backends:\n${urls.map((u, i) => `  - { url: ${u}, name: ${names[i]} }`).join('\n')}\n`;
}

test('reports the distribution per backend, status codes, latency and Success/Fails; exits 0', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, named(backends.map((b) => b.url), ['alpha', 'beta']));
  const run = await runVelo(['make-request', '-c', '4', '-n', '40', '--url', `${velo.url}/`, '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, new RegExp(`^GET ${velo.url}/: 40 requests in \\d+\\.\\d{3} s, [\\d.]+ req/s \\(concurrency 4\\)`));
  t.regex(run.stdout, /Distribution by backend \(requests each backend got during the run, from the admin API\):\n {2}alpha {2}20 {2}50\.0%\n {2}beta {3}20 {2}50\.0%\n/);
  t.regex(run.stdout, /Status codes:\n {2}200 {2}40 {2}100\.0%\n/);
  t.regex(run.stdout, /Latency:\n {2}p50 {2}\d+(\.\d+)? (µs|ms)\n {2}p90 .*\n {2}p99 .*\n {2}max .*\n/);
  t.true(run.stdout.endsWith('Success: 40, Fails: 0\n'));
  t.is(run.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('--json carries the same numbers; without the admin API a response without X-Backend counts as unknown, and it says so', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-n', '7', '--json', '--url', `${velo.admin.url}/api/health`, '--admin', 'http://127.0.0.1:1']);
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  t.like(report, { requests: 7, success: 7, fails: 0, backends: { unknown: 7 }, statusCodes: { '200': 7 }, method: 'GET', distributionSource: 'x-backend' });
  t.regex(report.distributionNote, /admin API unreachable: .*admin 127\.0\.0\.1:1 from --admin/);
  t.true(report.latencyUs.p50 > 0 && report.latencyUs.p50 <= report.latencyUs.p99 && report.latencyUs.p99 <= report.latencyUs.max);
  const text = await runVelo(['make-request', '-n', '3', '--url', `${velo.url}/`, '--admin', 'http://127.0.0.1:1']);
  t.regex(text.stdout, /Distribution by backend \(X-Backend header; admin API unreachable: .*\):\n {2}b0 {2}3 /);
});

test('the distribution comes from the admin API, so any backend works (no X-Backend header)', async (t) => {
  const servers = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<{ url: string; close: () => void }>((resolve) => {
          const server = createServer((_req, res) => res.end('plain\n'));
          server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() }));
        }),
    ),
  );
  t.teardown(() => servers.forEach((s) => s.close()));
  const velo = await startAdminVelo(t, named(servers.map((s) => s.url), ['web-1', 'web-2', 'web-3']));
  const run = await runVelo(['make-request', '-c', '3', '-n', '30', '--json', '--url', `${velo.url}/`, '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  t.like(report, { distributionSource: 'admin', backends: { 'web-1': 10, 'web-2': 10, 'web-3': 10 } });
  t.false('unknown' in report.backends);
});

test('p99 never exceeds max: a percentile is its bucket\'s highest value, max the value recorded', (t) => {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  for (const us of [12_345, 8_001, 9_999, 12_001, 15_379]) h.recordValue(us);
  const plan = { url: new URL('http://127.0.0.1:8080/'), method: 'GET', concurrency: 1, count: 5, timeoutMs: 1000 };
  const result = { elapsedMs: 10, sent: 5, success: 5, fails: 0, backends: new Map(), statusCodes: new Map([[200, 5]]), errors: new Map(), latencyUs: h };
  const { latencyUs } = reportData(plan, result);
  t.is(latencyUs!.max, 15_379);
  t.true(latencyUs!.p99 <= latencyUs!.max, `p99 ${latencyUs!.p99} > max ${latencyUs!.max}`);
  t.true(latencyUs!.p50 <= latencyUs!.p90 && latencyUs!.p90 <= latencyUs!.p99);
});

test('without --url, make-request loads the listen address of the config velo start would read', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const dir = await mkdtemp(join(tmpdir(), 'velo-mr-'));
  const port = new URL(velo.url).port;
  await writeFile(join(dir, 'velo.config.yaml'), `listen: { host: 0.0.0.0, port: ${port} }\nadmin: { port: ${velo.admin.address.port} }\nbackends: [http://127.0.0.1:1]\n`);
  const run = await runVelo(['make-request', '-n', '4', '--json'], {}, dir);
  t.is(run.code, 0, run.stderr);
  t.like(JSON.parse(run.stdout), { url: `http://127.0.0.1:${port}/`, requests: 4, distributionSource: 'admin' });
  const viaEnv = await runVelo(['make-request', '-n', '2', '--json'], { VELO_PORT: port, VELO_ADMIN_PORT: String(velo.admin.address.port) }, tmpdir());
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.like(JSON.parse(viaEnv.stdout), { url: `http://127.0.0.1:${port}/`, requests: 2 });
});

test('failed requests are counted with their status and the exit code is 1', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-c', '2', '-n', '6', '--method', 'post', '--url', `${velo.url}/status/503`]);
  t.is(run.code, 1);
  t.regex(run.stdout, /^POST /);
  t.regex(run.stdout, /Status codes:\n {2}503 {2}6/);
  t.true(run.stdout.endsWith('Success: 0, Fails: 6\n'));
});

// Serial: run beside this file's other tests it would measure their load, not its own concurrency.
test.serial('-c 100 -n 1000 completes, really 100 at a time', async (t) => {
  const backends = await startBackends(t, 3, { latencyMs: 50 });
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-c', '100', '-n', '1000', '--json', '--url', `${velo.url}/`, '--admin', velo.admin.url]);
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  t.like(report, { requests: 1000, success: 1000, fails: 0, concurrency: 100 });
  t.deepEqual(Object.values(report.backends).sort(), [333, 333, 334]);
  t.log(`load ${report.elapsedMs} ms, whole process ${Math.round(run.ms)} ms, ${report.rps} req/s`);
  // One at a time would need 1000 x 50 ms = 50 s; 100 at a time needs 0.5 s, plus whatever a busy machine adds.
  t.true(report.elapsedMs < 25_000, `took ${report.elapsedMs} ms`);
  t.true(report.latencyUs.p50 >= 50_000, 'the backends add 50 ms each');
});

test('-d runs for a duration', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-c', '2', '-d', '300ms', '--json', '--url', `${velo.url}/`]);
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  t.true(report.requests > 0);
  t.true(report.elapsedMs >= 300 && report.elapsedMs < 3000);
});

test('an unreachable URL is one line and exit 3; bad arguments exit 2', async (t) => {
  // A low port nothing listens on; a freed port-0 port could be handed to a parallel test's velo.
  const port = 1;
  const down = await runVelo(['make-request', '-d', '60s'], { VELO_URL: `http://127.0.0.1:${port}/` });
  t.is(down.code, 3);
  t.is(down.stderr, `velo: cannot reach http://127.0.0.1:${port}: ECONNREFUSED (127.0.0.1:${port} from $VELO_URL; is velo running? pass --url URL or --config FILE, or set $VELO_URL)\n`);
  t.true(down.ms < 25_000, 'gives up at once instead of hammering for 60 s');
  for (const [args, pattern] of [
    [['-n', '0'], /-n must be an integer from 1/],
    [['-c', 'many'], /-c must be an integer from 1/],
    [['-n', '5', '-d', '1s'], /either -n \(a count\) or -d \(a duration\), not both/],
    [['-d', 'soon'], /-d must be a duration like 10s/],
    [['--url', 'localhost'], /--url must be an http/],
    [['--method', 'G E T'], /--method must be an HTTP method/],
  ] as const) {
    const run = await runVelo(['make-request', ...args]);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, pattern);
    t.is(run.stderr.trimEnd().split('\n').length, 1);
  }
});
