/**
 * Hostile requests against a velo process: request smuggling (CL+TE, TE+CL, duplicate
 * Content-Length, obfuscated Transfer-Encoding), oversized headers and malformed request lines.
 * velo must answer 400 or 431 itself, and the backend must never see a smuggled request.
 */
import test from 'ava';
import { get } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { rawExchange, startRecordingBackend, statuses } from './raw-client.js';
import { agent, fdsSettle, fdsSteady, HAS_PROC, startVeloProcess } from './velo-process.js';

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const post = (headers: string, body: string): string => `POST /front HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;

/**
 * name, raw request, the status velo must answer with. Node's parser refuses all but one and
 * closes the connection; two Host headers parse, and velo's own 400 may keep the connection.
 */
const HOSTILE: ReadonlyArray<readonly [string, string, number, boolean?]> = [
  ['CL+TE', post(`Content-Length: ${5 + SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\n`, `0\r\n\r\n${SMUGGLED}`), 400],
  ['TE+CL', post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['duplicate Content-Length, different values', post(`Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n`, SMUGGLED), 400],
  ['duplicate Content-Length, same value', post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc'), 400],
  ['Content-Length with a sign', post('Content-Length: +3\r\n', 'abc'), 400],
  ['negative Content-Length', post('Content-Length: -1\r\n', ''), 400],
  ['Transfer-Encoding: xchunked', post('Transfer-Encoding: xchunked\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['Transfer-Encoding with a space before the colon', post('Transfer-Encoding : chunked\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['Transfer-Encoding: chunked, identity', post('Transfer-Encoding: chunked, identity\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['two Transfer-Encoding headers', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['Transfer-Encoding after a vertical tab', post('Transfer-Encoding:\x0bchunked\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['Transfer-Encoding folded (obs-fold)', post('Transfer-Encoding:\r\n chunked\r\n', `0\r\n\r\n${SMUGGLED}`), 400],
  ['a bad chunk size', post('Transfer-Encoding: chunked\r\n', `zz\r\nabc\r\n0\r\n\r\n${SMUGGLED}`), 400],
  ['a 70 KB header', `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431],
  ['3000 headers', `GET /many HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, 431],
  ['a 70 KB URL', `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
  ['a bare LF line ending', 'GET /lf HTTP/1.1\nHost: x\n\n', 400],
  ['a method with @', 'G@T /m HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['HTTP/9.9', 'GET /v HTTP/9.9\r\nHost: x\r\n\r\n', 400],
  ['a NUL in the target', 'GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['no Host (HTTP/1.1)', 'GET /nohost HTTP/1.1\r\n\r\n', 400],
  ['two Host headers', 'GET /twohost HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400, false],
  ['a control character in a header value', 'GET /ctl HTTP/1.1\r\nHost: x\r\nX-A: b\x01c\r\n\r\n', 400],
  ['a bare CR in a header value', 'GET /cr HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n', 400],
  ['garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n', 400],
];

const CONFIG = (backend: string): string => `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nbackends: [${backend}]\n`;
const figures: Array<[string, Figure]> = [];

test.after.always(() => recordFigures('hostile', 'Hostile requests (smuggling, oversized headers, bad request lines)', figures));

test('every smuggling, oversized or malformed request gets velo\'s own 400/431, and the backend sees none of them', async (t) => {
  const backend = await startRecordingBackend(t);
  const velo = await startVeloProcess(t, CONFIG(backend.url));
  const warm = agent(t, 4);
  t.is((await get(warm, `${velo.url}/warm-up`)).status, 200);
  await warm.close();
  const fdBaseline = HAS_PROC ? await fdsSteady(velo) : 0;
  backend.seen.length = 0;

  for (const [name, raw, expected, closes = true] of HOSTILE) {
    const { text, closedByPeer } = await rawExchange(velo.port, raw, closes ? 3000 : 500);
    t.deepEqual(statuses(text), [expected], `${name}: velo answers exactly one ${expected}, got ${JSON.stringify(text.slice(0, 80))}`);
    if (closes) t.true(closedByPeer, `${name}: velo closes the connection after refusing it`);
  }
  t.deepEqual(backend.seen, [], 'no hostile request, and nothing smuggled inside one, reached the backend');

  const after = agent(t, 4);
  t.is((await get(after, `${velo.url}/after`)).status, 200, 'velo still serves normal requests');
  t.deepEqual(backend.seen.map((r) => r.url), ['/after']);
  await after.close();
  if (HAS_PROC) {
    const fdAfter = await fdsSettle(velo, fdBaseline + 2, 5000);
    t.true(fdAfter <= fdBaseline + 2, `fds back to baseline ${fdBaseline}: ${fdAfter}`);
    figures.push(['hostile requests sent', HOSTILE.length], ['velo fds before / after', `${fdBaseline} / ${fdAfter}`]);
  }
  t.is((await velo.stop()).code, 0);
});

test('a pipelined second request after a complete one is forwarded as its own request, not as body', async (t) => {
  // The control for the smuggling cases: legitimate pipelining must still work, so the 400s above
  // are about the ambiguity, not about a second request on the connection.
  const backend = await startRecordingBackend(t);
  const velo = await startVeloProcess(t, CONFIG(backend.url));
  const { text } = await rawExchange(velo.port, `${post('Content-Length: 3\r\n', 'abc')}GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  t.deepEqual(statuses(text), [200, 200]);
  t.deepEqual(backend.seen, [
    { method: 'POST', url: '/front', bodyBytes: 3 },
    { method: 'GET', url: '/second', bodyBytes: 0 },
  ]);
});

// Was a finding: a request line without an HTTP version ("GET /a", the HTTP/0.9 form) was
// forwarded; HAProxy and Envoy answer 400 (RFC 9112 section 3). Fixed by request-validation.ts.
test('a request line without a version (HTTP/0.9 form) is answered 400 and not forwarded', async (t) => {
  const backend = await startRecordingBackend(t);
  const velo = await startVeloProcess(t, CONFIG(backend.url));
  const { text } = await rawExchange(velo.port, 'GET /v09\r\n\r\n');
  t.deepEqual(backend.seen, [], 'nothing forwarded');
  t.deepEqual(statuses(text), [400]);
});
