/**
 * The built `velo make-request` against a real in-process velo: distribution per backend from
 * X-Backend, status codes, latency percentiles, `Success: N, Fails: M`, exit codes, and
 * `-c 100 -n 1000` really running 100 requests at a time.
 */
import test from 'ava';
import { startBackends } from '../integration/harness.js';
import { NO_HEALTH, runVelo, startAdminVelo } from '../admin/admin-harness.js';

test('reports the distribution per backend, status codes, latency and Success/Fails; exits 0', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-c', '4', '-n', '40', '--url', `${velo.url}/`]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, new RegExp(`^GET ${velo.url}/: 40 requests in \\d+\\.\\d{3} s, [\\d.]+ req/s \\(concurrency 4\\)`));
  t.regex(run.stdout, /Distribution by backend:\n {2}b0 {2}20 {2}50\.0%\n {2}b1 {2}20 {2}50\.0%\n/);
  t.regex(run.stdout, /Status codes:\n {2}200 {2}40 {2}100\.0%\n/);
  t.regex(run.stdout, /Latency:\n {2}p50 {2}\d+(\.\d+)? (µs|ms)\n {2}p90 .*\n {2}p99 .*\n {2}max .*\n/);
  t.true(run.stdout.endsWith('Success: 40, Fails: 0\n'));
  t.is(run.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('--json carries the same numbers; a response without X-Backend counts as unknown', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const run = await runVelo(['make-request', '-n', '7', '--json', '--url', `${velo.admin.url}/api/health`]);
  t.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  t.like(report, { requests: 7, success: 7, fails: 0, backends: { unknown: 7 }, statusCodes: { '200': 7 }, method: 'GET' });
  t.true(report.latencyUs.p50 > 0 && report.latencyUs.p50 <= report.latencyUs.p99);
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
  const run = await runVelo(['make-request', '-c', '100', '-n', '1000', '--json', '--url', `${velo.url}/`]);
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
  t.is(down.stderr, `velo: cannot reach http://127.0.0.1:${port}: ECONNREFUSED (is velo running? set --url or $VELO_URL)\n`);
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
