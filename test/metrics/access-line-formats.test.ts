/**
 * `access_log.format`: the JSON line, logfmt (go-logfmt's quoting, as Loki parses it) and
 * nginx's `combined` line, each checked on a record and then written to a file by a real velo,
 * the combined line read back with the regex nginx users parse it with.
 */
import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { Logger } from '../../src/log/logger.js';
import { createAccessLog } from '../../src/metrics/access-log.js';
import { formatAccessLine, formatCommonLine, formatLogfmtLine, formatTimeLocal, logfmtValue, nginxEscape } from '../../src/metrics/access-line-formats.js';
import { client, eventually, get, startBackends, startVelo } from '../integration/harness.js';

const RECORD: RequestRecord = {
  id: 'req-1',
  at: Date.UTC(2000, 9, 10, 20, 55, 36),
  clientIp: '127.0.0.1',
  method: 'GET',
  path: '/apache_pb.gif?x=1',
  host: 'shop.test',
  status: 200,
  pool: 'default',
  backend: 'http://127.0.0.1:8081',
  backendName: 'web 1',
  attempts: 1,
  upstreamMs: 1.25,
  totalMs: 1.5,
  bytesIn: 0,
  bytesOut: 2326,
  termination: '-',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
};

/**
 * The combined format as log tools parse it (GoAccess's `%h %^[%d:%t %^] "%r" %s %b "%R" "%u"`,
 * Logstash's COMBINEDAPACHELOG): quoted fields hold no bare `"`.
 */
const COMBINED = /^(\S+) - (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "(\S+) (\S+) (HTTP\/\d\.\d)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/;

test('$time_local is nginx\'s 10/Oct/2000:13:55:36 -0700, in the given zone or the local one', (t) => {
  t.is(formatTimeLocal(RECORD.at, -420), '10/Oct/2000:13:55:36 -0700');
  t.is(formatTimeLocal(RECORD.at, 0), '10/Oct/2000:20:55:36 +0000');
  t.is(formatTimeLocal(RECORD.at, 330), '11/Oct/2000:02:25:36 +0530');
  t.is(formatTimeLocal(Date.UTC(2026, 0, 1, 0, 0, 0), -60), '31/Dec/2025:23:00:00 -0100');
  const local = new Date(RECORD.at);
  t.is(formatTimeLocal(RECORD.at).slice(0, 2), String(local.getDate()).padStart(2, '0'));
});

test('nginx escaping: ", \\ and bytes outside 32-126 as \\xXX, - for empty', (t) => {
  t.is(nginxEscape(undefined), '-');
  t.is(nginxEscape(''), '-');
  t.is(nginxEscape('Mozilla/5.0 (X11)'), 'Mozilla/5.0 (X11)');
  t.is(nginxEscape('say "hi"\\'), 'say \\x22hi\\x22\\x5C');
  t.is(nginxEscape('tab\there'), 'tab\\x09here');
  t.is(nginxEscape('é'), '\\xC3\\xA9');
});

test('the combined line is exactly nginx\'s, and the usual regex takes it apart', (t) => {
  const line = formatCommonLine({ ...RECORD, referer: 'http://www.example.com/start.html', userAgent: 'Mozilla/4.08 [en] (Win98; I ;Nav)', httpVersion: '1.0' }, -420);
  t.is(line, '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"');
  t.truthy(COMBINED.exec(line));
  const bare = formatCommonLine({ ...RECORD, userAgent: 'evil "agent"' }, 0);
  t.is(bare, '127.0.0.1 - - [10/Oct/2000:20:55:36 +0000] "GET /apache_pb.gif?x=1 HTTP/1.1" 200 2326 "-" "evil \\x22agent\\x22"');
  t.truthy(COMBINED.exec(bare));
});

const LOGFMT_VALUES: Array<[string | number | null, string]> = [
  ['plain', 'plain'],
  ['/a?b=1', '"/a?b=1"'],
  ['two words', '"two words"'],
  ['say "hi"', '"say \\"hi\\""'],
  ['back\\slash', '"back\\\\slash"'],
  ['line\nbreak', '"line\\nbreak"'],
  ['', '""'],
  ['-', '-'],
  [null, 'null'],
  [200, '200'],
  [1.234, '1.234'],
  ['ünïcode', 'ünïcode'],
];

for (const [value, written] of LOGFMT_VALUES) {
  test(`logfmt writes ${JSON.stringify(value)} as ${written}`, (t) => {
    t.is(logfmtValue(value), written);
  });
}

test('the logfmt line has the JSON line\'s keys in order, trace_id last', (t) => {
  const line = formatLogfmtLine(RECORD);
  t.is(
    line,
    'time=2000-10-10T20:55:36.000Z request_id=req-1 client_ip=127.0.0.1 method=GET host=shop.test path="/apache_pb.gif?x=1" status=200 pool=default backend=http://127.0.0.1:8081 backend_name="web 1" attempts=1 upstream_ms=1.25 total_ms=1.5 bytes_in=0 bytes_out=2326 termination=- trace_id=4bf92f3577b34da6a3ce929d0e0e4736',
  );
  const json = JSON.parse(formatAccessLine(RECORD)) as Record<string, unknown>;
  t.deepEqual(
    [...line.matchAll(/(\w+)=/g)].map((m) => m[1]).filter((k) => k !== 'x'),
    Object.keys(json),
  );
  t.is(json.trace_id, RECORD.traceId);
  t.is(JSON.parse(formatAccessLine({ ...RECORD, traceId: undefined })).trace_id, null);
});

/** A logfmt parser after go-logfmt's grammar, enough to read velo's lines back. */
function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return out;
}

async function tempFile(name: string): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'velo-formats-')), name);
}

for (const format of ['json', 'logfmt', 'common'] as const) {
  test(`access_log.format ${format}: a real request's line in the file has the expected shape`, async (t) => {
    const [backend] = await startBackends(t, 1);
    const file = await tempFile(`access-${format}.log`);
    const live = await startVelo(t, `health_check: { enabled: false }\naccess_log: { path: "${file}", format: ${format} }\n`, [backend!.url]);
    t.is(live.config.accessLog.format, format);
    const log = createAccessLog(live.config.accessLog, new Logger('silent'))!;
    live.engine.observers.push(log.observe);
    const headers = { 'user-agent': 'curl/8.5.0', referer: 'https://shop.test/cart', 'x-request-id': 'fmt-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    t.is((await get(client(t), `${live.url}/echo?q=a%20b`, { headers })).status, 200);
    await eventually(() => live.engine.totals.requests === 1, 3000, 'the request recorded');
    await log.close();
    const text = await readFile(file, 'utf8');
    t.true(text.endsWith('\n'));
    const line = text.trimEnd();
    t.false(line.includes('\n'), 'one line');
    if (format === 'json') {
      const json = JSON.parse(line) as Record<string, unknown>;
      t.like(json, { request_id: 'fmt-1', path: '/echo?q=a%20b', status: 200, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    } else if (format === 'logfmt') {
      const fields = parseLogfmt(line);
      t.like(fields, { request_id: 'fmt-1', path: '/echo?q=a%20b', status: '200', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', termination: '-' });
    } else {
      const m = COMBINED.exec(line);
      t.truthy(m, line);
      const [, addr, user, , method, target, proto, status, bytes, referer, agent] = m!;
      t.deepEqual([addr, user, method, target, proto, status, referer, agent], ['127.0.0.1', '-', 'GET', '/echo?q=a%20b', 'HTTP/1.1', '200', 'https://shop.test/cart', 'curl/8.5.0']);
      t.true(Number(bytes) > 0);
    }
  });
}

test('records carry Referer and User-Agent only when the format writes them', async (t) => {
  const [backend] = await startBackends(t, 1);
  const json = await startVelo(t, 'health_check: { enabled: false }\n', [backend!.url]);
  const common = await startVelo(t, 'health_check: { enabled: false }\naccess_log: { format: common }\n', [backend!.url]);
  const seen: RequestRecord[] = [];
  json.engine.observers.push((r) => seen.push(r));
  common.engine.observers.push((r) => seen.push(r));
  const agent = client(t);
  const headers = { 'user-agent': 'ua/1', referer: 'https://r.test/' };
  await get(agent, `${json.url}/echo`, { headers });
  await get(agent, `${common.url}/echo`, { headers });
  await eventually(() => seen.length === 2, 3000, 'two records');
  t.is(seen[0]!.userAgent, undefined);
  t.is(seen[0]!.referer, undefined);
  t.like(seen[1], { userAgent: 'ua/1', referer: 'https://r.test/', httpVersion: '1.1' });
});
