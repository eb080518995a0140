import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
import { startTestBackend, type TestBackend, type TestBackendOptions } from '../../src/backend/test-backend.js';

async function start(t: { teardown(fn: () => Promise<void>): void }, opts: TestBackendOptions = {}): Promise<TestBackend> {
  const backend = await startTestBackend(opts);
  t.teardown(() => backend.close());
  return backend;
}

async function get(url: string): Promise<{ status: number; header: string | undefined; text: string }> {
  const res = await request(url);
  const header = res.headers['x-backend'];
  return { status: res.statusCode, header: Array.isArray(header) ? header[0] : header, text: await res.body.text() };
}

function rawRequest(
  backend: TestBackend,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; chunks?: string[] } = {},
): Promise<{ res: http.IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: backend.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
    const chunks = options.chunks ?? [];
    const writeNext = (i: number): void => {
      if (i === chunks.length) return void req.end();
      req.write(chunks[i]);
      setTimeout(() => writeNext(i + 1), 10);
    };
    writeNext(0);
  });
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

async function readBytes(socket: net.Socket, state: { buffer: Buffer }, n: number): Promise<Buffer> {
  while (state.buffer.length < n) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    state.buffer = Buffer.concat([state.buffer, chunk]);
  }
  const out = state.buffer.subarray(0, n);
  state.buffer = state.buffer.subarray(n);
  return out;
}

async function readFrame(socket: net.Socket, state: { buffer: Buffer }): Promise<{ first: number; payload: Buffer }> {
  const [first, second] = await readBytes(socket, state, 2);
  let len = second & 0x7f;
  if (len === 126) len = (await readBytes(socket, state, 2)).readUInt16BE(0);
  return { first: first | ((second & 0x80) << 1), payload: await readBytes(socket, state, len) };
}

async function openWebSocket(backend: TestBackend, path = '/ws'): Promise<{ socket: net.Socket; head: string; state: { buffer: Buffer } }> {
  const socket = net.connect(backend.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const state = { buffer: Buffer.alloc(0) };
  while (!state.buffer.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    state.buffer = Buffer.concat([state.buffer, chunk]);
  }
  const end = state.buffer.indexOf('\r\n\r\n') + 4;
  const head = state.buffer.subarray(0, end).toString();
  state.buffer = state.buffer.subarray(end);
  return { socket, head, state };
}

test('the default route answers its name in the body and the X-Backend header', async (t) => {
  const backend = await start(t, { name: 'alpha' });
  const res = await get(`${backend.url}/anything?x=1`);
  t.deepEqual(res, { status: 200, header: 'alpha', text: 'alpha\n' });
  t.regex(backend.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(backend.requests, 1);
});

test('the default name is backend-PORT', async (t) => {
  const backend = await start(t);
  t.is(backend.name, `backend-${backend.port}`);
  t.is((await get(backend.url)).text, `backend-${backend.port}\n`);
});

test('/health follows setHealthy and is not counted as a served request', async (t) => {
  const backend = await start(t, { name: 'h' });
  const ok = await get(`${backend.url}/health`);
  t.is(ok.status, 200);
  t.is(ok.header, 'h');
  t.deepEqual(JSON.parse(ok.text), { status: 'ok', name: 'h' });
  backend.setHealthy(false);
  t.is((await get(`${backend.url}/health`)).status, 503);
  backend.setHealthy(true);
  t.is((await get(`${backend.url}/health`)).status, 200);
  t.is(backend.requests, 0);
});

test('/echo returns the raw path and query byte for byte, the method, headers and a streamed body', async (t) => {
  const backend = await start(t, { name: 'e' });
  const path = '/echo?a=1&b=%2F&a=2&c=%zz&d=a+b';
  const { res, body } = await rawRequest(backend, path, {
    method: 'POST',
    headers: { 'x-custom': 'yes', 'content-type': 'text/plain' },
    chunks: ['hello ', 'streamed ', 'wörld'],
  });
  t.is(res.statusCode, 200);
  t.is(res.headers['x-backend'], 'e');
  const echo = JSON.parse(body);
  t.is(echo.url, path);
  t.is(echo.method, 'POST');
  t.is(echo.name, 'e');
  t.is(echo.body, 'hello streamed wörld');
  t.is(echo.headers['x-custom'], 'yes');
  t.is(echo.headers['transfer-encoding'], 'chunked');
});

test('/stream sends N server-sent events and ends', async (t) => {
  const backend = await start(t);
  const { res, body } = await rawRequest(backend, '/stream?chunks=4&interval=5');
  t.is(res.headers['content-type'], 'text/event-stream');
  t.is(body, 'data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n');
  const defaults = await rawRequest(backend, '/stream?interval=1');
  t.is(defaults.body.split('\n\n').filter(Boolean).length, 5);
});

test('/status/NNN answers that status and rejects anything else with 400', async (t) => {
  const backend = await start(t);
  t.is((await get(`${backend.url}/status/418`)).status, 418);
  const noContent = await get(`${backend.url}/status/204`);
  t.deepEqual([noContent.status, noContent.text], [204, '']);
  t.is((await get(`${backend.url}/status/abc`)).status, 400);
  t.is((await get(`${backend.url}/status/99`)).status, 400);
});

test('/delay/MS waits before answering 200', async (t) => {
  const backend = await start(t);
  const started = performance.now();
  const res = await get(`${backend.url}/delay/60`);
  t.is(res.status, 200);
  t.true(performance.now() - started >= 55);
  t.is((await get(`${backend.url}/delay/-1`)).status, 400);
});

test('latency and jitter delay non-health responses, jitter drawn from the injected random', async (t) => {
  const backend = await start(t, { latencyMs: 0, jitterMs: 100, random: () => 0.9 });
  let started = performance.now();
  await get(backend.url);
  t.true(performance.now() - started >= 85);
  backend.setLatency(2000, 0);
  started = performance.now();
  t.is((await get(`${backend.url}/health`)).status, 200);
  t.true(performance.now() - started < 1000);
  t.throws(() => backend.setLatency(-1), { instanceOf: RangeError });
});

test('failRate 1 always answers an injected 500, 0 never, and health is never failed', async (t) => {
  const backend = await start(t, { failRate: 1 });
  for (let i = 0; i < 10; i++) {
    const res = await get(`${backend.url}/echo`);
    t.is(res.status, 500);
    t.deepEqual(JSON.parse(res.text), { error: 'injected failure' });
  }
  t.is((await get(`${backend.url}/health`)).status, 200);
  backend.setFailRate(0);
  for (let i = 0; i < 10; i++) t.is((await get(backend.url)).status, 200);
});

test('failRate fails exactly the requests whose random draw falls below it', async (t) => {
  const draws = [0.1, 0.9, 0.29, 0.3];
  const backend = await start(t, { failRate: 0.3, random: () => draws.shift() ?? 1 });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(backend.url)).status);
  t.deepEqual(statuses, [500, 200, 500, 200]);
});

test('the status option forces every non-health response', async (t) => {
  const backend = await start(t, { status: 503 });
  t.is((await get(backend.url)).status, 503);
  t.is((await get(`${backend.url}/echo`)).status, 503);
  t.is((await get(`${backend.url}/health`)).status, 200);
  await t.throwsAsync(startTestBackend({ status: 99 }), { instanceOf: RangeError });
  await t.throwsAsync(startTestBackend({ failRate: 2 }), { instanceOf: RangeError });
});

test('/drop sends headers and part of the body, then closes the connection early', async (t) => {
  const backend = await start(t);
  const req = http.get({ host: '127.0.0.1', port: backend.port, path: '/drop', agent: false });
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  t.is(res.statusCode, 200);
  t.is(res.headers['content-length'], '1024');
  let received = 0;
  res.on('data', (chunk: Buffer) => (received += chunk.length));
  await new Promise((resolve) => res.on('error', () => {}).on('close', resolve));
  t.false(res.complete);
  t.true(received > 0 && received < 1024);
});

test('/ws completes the RFC 6455 handshake and echoes text frames unmasked until close', async (t) => {
  const backend = await start(t, { name: 'ws' });
  const { socket, head, state } = await openWebSocket(backend);
  t.teardown(() => socket.destroy());
  t.true(head.startsWith('HTTP/1.1 101'));
  t.true(head.includes('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='));
  t.true(head.includes('X-Backend: ws'));
  socket.write(maskedFrame(0x1, Buffer.from('hello')));
  t.deepEqual(await readFrame(socket, state), { first: 0x81, payload: Buffer.from('hello') });
  const long = Buffer.from('x'.repeat(300));
  socket.write(maskedFrame(0x1, long));
  t.deepEqual(await readFrame(socket, state), { first: 0x81, payload: long });
  socket.write(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
  t.deepEqual(await readFrame(socket, state), { first: 0x88, payload: Buffer.from([0x03, 0xe8]) });
  await once(socket, 'end');
});

test('an upgrade on another path is refused with 404', async (t) => {
  const backend = await start(t);
  const { socket, head } = await openWebSocket(backend, '/nope');
  t.teardown(() => socket.destroy());
  t.true(head.startsWith('HTTP/1.1 404'));
});

test('close() resolves promptly despite idle keep-alive, in-flight and WebSocket connections', async (t) => {
  const backend = await startTestBackend();
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: backend.port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
  t.is(Object.values(agent.freeSockets).flat().length, 1);
  const inFlight = new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port: backend.port, path: '/delay/30000', agent: false }).on('error', (err) => resolve(err.message));
  });
  const ws = await openWebSocket(backend);
  const wsClosed = once(ws.socket, 'close');
  while (backend.requests < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  await backend.close();
  t.true(performance.now() - started < 1000);
  t.is(await inFlight, 'socket hang up');
  await wsClosed;
  t.false(backend.server.listening);
});

test('a port already in use makes startTestBackend reject', async (t) => {
  const first = await start(t);
  await t.throwsAsync(startTestBackend({ port: first.port }), { code: 'EADDRINUSE' });
});

test('/ws ends its side when the client sends a FIN without a close frame', async (t) => {
  const backend = await start(t);
  const { socket } = await openWebSocket(backend);
  let ended = false;
  socket.on('end', () => (ended = true));
  socket.end();
  const deadline = Date.now() + 2000;
  while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(ended, 'the backend answered the FIN with its own');
});
