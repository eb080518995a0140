/**
 * The access log against a real engine: one JSON line per request with every field, Envoy-style
 * termination flags (UF dead backend, DC client abort), a broken sink switched off once, and
 * `launch()` writing it only when it is enabled.
 */
import test from 'ava';
import { mkdtemp, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { request } from 'undici';
import { launch } from '../../src/cli/start.js';
import { parseConfigText } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { createAccessLog, formatAccessLine } from '../../src/metrics/access-log.js';
import { client, eventually, get, startBackends, startVelo, refusingUrl } from '../integration/harness.js';

const FIELDS = ['time', 'request_id', 'client_ip', 'method', 'host', 'path', 'status', 'pool', 'backend', 'backend_name', 'attempts', 'upstream_ms', 'total_ms', 'bytes_in', 'bytes_out', 'termination', 'trace_id'];

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: new Logger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

async function tempFile(name: string): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'velo-access-')), name);
}

async function readLines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  if (!text.endsWith('\n')) throw new Error('every access-log line ends with a newline');
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('one JSON line per request with every field; UF for a dead backend, DC for a client abort', async (t) => {
  const backends = await startBackends(t, 1);
  const dead = refusingUrl();
  const yaml = `health_check: { enabled: false }\nretry: { attempts: 0 }\nbackends: [{ url: "${backends[0]!.url}", name: web-1 }, { url: "${dead}", name: dead-1 }]\n`;
  const live = await startVelo(t, yaml);
  const file = await tempFile('access.log');
  const log = createAccessLog({ enabled: true, target: file }, new Logger('silent'))!;
  live.engine.observers.push(log.observe);
  const agent = client(t);
  t.is((await get(agent, `${live.url}/echo?q=1`, { method: 'POST', body: 'hello', headers: { 'x-request-id': 'req-1' } })).status, 200);
  const bad = await get(agent, `${live.url}/`);
  t.is(bad.status, 502);
  t.true(bad.body.endsWith('}\n'), 'velo\'s own JSON error body ends with a newline');
  const controller = new AbortController();
  const aborted = request(`${live.url}/delay/2000`, { dispatcher: agent, signal: controller.signal }).catch(() => 'aborted');
  await eventually(() => live.engine.totals.inFlight === 1, 2000, 'request in flight');
  controller.abort();
  t.is(await aborted, 'aborted');
  await eventually(() => live.engine.totals.requests === 3, 3000, 'abort recorded');
  await log.close();
  const lines = await readLines(file);
  t.is(lines.length, 3);
  for (const l of lines) t.deepEqual(Object.keys(l), FIELDS);
  const [ok, failed, gone] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  t.like(ok, { request_id: 'req-1', client_ip: '127.0.0.1', method: 'POST', path: '/echo?q=1', status: 200, pool: 'default', backend: backends[0]!.url, backend_name: 'web-1', attempts: 1, bytes_in: 5, termination: '-' });
  t.regex(String(ok.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.true((ok.bytes_out as number) > 0);
  t.true((ok.upstream_ms as number) >= 0 && (ok.total_ms as number) >= (ok.upstream_ms as number));
  t.like(failed, { status: 502, backend: dead, backend_name: 'dead-1', termination: 'UF', upstream_ms: null, bytes_out: Buffer.byteLength(bad.body) });
  t.like(gone, { status: 499, path: '/delay/2000', termination: 'DC' });
});

test('the backend is `backend` (its URL) and `backend_name`; both null when no backend was tried', (t) => {
  const base = { id: 'r', at: 0, clientIp: '::1', method: 'GET', path: '/', host: undefined, status: 200, pool: 'p', attempts: 1, upstreamMs: 1, totalMs: 2, bytesIn: 0, bytesOut: 3, termination: '-' as const };
  const tried = JSON.parse(formatAccessLine({ ...base, backend: 'http://127.0.0.1:8081', backendName: 'web-1' }));
  t.like(tried, { backend: 'http://127.0.0.1:8081', backend_name: 'web-1' });
  const refused = JSON.parse(formatAccessLine({ ...base, status: 429, termination: 'RL', attempts: 0, backend: undefined, backendName: undefined }));
  t.like(refused, { backend: null, backend_name: null });
  t.deepEqual(Object.keys(refused), FIELDS);
});

test('a sink that fails is switched off after one logged error; stdout gets lines as they come', async (t) => {
  const { logger, lines } = captureLogger();
  const broken = new Writable({ write: (_chunk, _enc, cb) => cb(new Error('EPIPE')) });
  const log = createAccessLog({ enabled: true, target: 'stdout' }, logger, broken)!;
  const record = { id: 'r', at: 0, clientIp: '::1', method: 'GET', path: '/', host: undefined, status: 200, pool: 'p', backend: 'http://b', backendName: 'b', attempts: 1, upstreamMs: 1, totalMs: 2, bytesIn: 0, bytesOut: 3, termination: '-' as const };
  for (let i = 0; i < 5; i++) {
    log.observe(record);
    await new Promise((r) => setImmediate(r));
  }
  await eventually(() => lines.length > 0, 1000, 'error logged');
  t.is(lines.filter((l) => l.msg === 'access log disabled after a write error').length, 1);
  await log.close();
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const good = createAccessLog({ enabled: true, target: 'stdout' }, logger, out)!;
  good.observe(record);
  good.observe({ ...record, id: 'r2' });
  await eventually(() => text.split('\n').length === 3, 1000, 'two lines');
  t.deepEqual(text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { request_id: string }).request_id), ['r', 'r2']);
  await good.close();
  t.is(createAccessLog({ enabled: false, target: 'stdout' }, logger, out), undefined);
});

for (const [title, enabled, optsLog, expectLines] of [
  ['launch() writes the access log to its file and starts the admin API', true, undefined, true],
  ['launch() writes nothing when access_log is off (--no-access-log)', false, undefined, false],
  ['launch() writes nothing in dashboard mode (accessLog: false)', true, false, false],
] as const) {
  test(title, async (t) => {
    const backends = await startBackends(t, 1);
    const file = await tempFile('launch.log');
    const config = parseConfigText(`health_check: { enabled: false }\naccess_log: ${JSON.stringify(file)}\n`, undefined, {
      flags: { port: 0, host: '127.0.0.1', adminPort: 0, backends: [backends[0]!.url] },
    });
    config.accessLog.enabled = enabled;
    const { logger, lines } = captureLogger();
    const running = await launch(config, undefined, logger, { watchFile: false, accessLog: optsLog });
    t.teardown(() => running.shutdown());
    const admin = lines.find((l) => l.msg === 'admin listening');
    t.regex(String(admin?.address), /^http:\/\/127\.0\.0\.1:\d+$/);
    // The snapshot (dashboard header) names the bound admin port, never the configured 0.
    t.is(`http://127.0.0.1:${running.engine.sampler.tick().admin?.port}`, String(admin?.address));
    const agent = client(t);
    t.is((await get(agent, `${String(admin!.address)}/api/health`)).status, 200);
    const proxy = `http://127.0.0.1:${running.engine.address.port}`;
    for (let i = 0; i < 3; i++) t.is((await get(agent, `${proxy}/`)).status, 200);
    await running.shutdown();
    if (expectLines) t.is((await readLines(file)).length, 3);
    else await t.throwsAsync(access(file), undefined, 'no file is created');
  });
}
