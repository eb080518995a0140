/**
 * `compression:` on real sockets: gzip and br bodies that decompress to the backend's bytes,
 * streamed and flushed, with backpressure from a slow client and the stalled-client timeout;
 * and every response that must pass as it is.
 */
import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { client, eventually, startVelo } from './harness.js';

/** About 60 KB of HTML that compresses well but not trivially. */
const HTML = Buffer.from(Array.from({ length: 1500 }, (_, i) => `<li class="item">row ${i} of the list, value ${(i * 7919) % 1000}</li>\n`).join(''));
const SMALL = Buffer.from('x'.repeat(100));
const STREAM_CHUNK = Buffer.from(Array.from({ length: 1024 }, (_, i) => `line ${i} of a streamed text body\n`).join(''));
const STREAM_CHUNKS = 256; // ~8 MB

interface Backend {
  url: string;
  /** Resolves the pending /sse response's second event. */
  releaseSse: () => void;
  /** /random: bytes written so far, whether the last write is waiting for 'drain', the sha256 once all was written. */
  random: { written: number; blocked: boolean; sha?: string; total: number };
}

async function startBackend(t: ExecutionContext): Promise<Backend> {
  let release: () => void = () => {};
  const random = { written: 0, blocked: false, sha: undefined as string | undefined, total: 48 * 1024 * 1024 };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const pump = (chunks: number, make: (i: number) => Buffer, onChunk?: (c: Buffer) => void, done?: () => void): void => {
      let i = 0;
      const go = (): void => {
        while (i < chunks) {
          const c = make(i++);
          onChunk?.(c);
          if (!res.write(c)) return void res.once('drain', go);
        }
        done?.();
        res.end();
      };
      go();
    };
    switch (path) {
      case '/html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': HTML.length, etag: '"v1"', vary: 'Origin' });
        return void res.end(req.method === 'HEAD' ? undefined : HTML);
      case '/stream':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return pump(STREAM_CHUNKS, () => STREAM_CHUNK);
      case '/small':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
        return void res.end(SMALL);
      case '/encoded':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return void res.end(gzipSync(HTML));
      case '/notransform':
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, no-transform' });
        return void res.end(HTML);
      case '/partial':
        res.writeHead(206, { 'content-type': 'text/html', 'content-range': `bytes 0-9999/${HTML.length}`, 'content-length': 10000 });
        return void res.end(HTML.subarray(0, 10000));
      case '/ranged':
        // A backend that ignores the client's Range and sends the whole body with a 200.
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end(HTML);
      case '/etag':
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"', 'content-type': 'text/html' });
          return void res.end();
        }
        res.writeHead(200, { 'content-type': 'text/html', etag: '"v1"' });
        return void res.end(HTML);
      case '/png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return void res.end(HTML);
      case '/sse':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: one\n\n');
        release = () => {
          release = () => {};
          res.end('data: two\n\n');
        };
        return;
      case '/random': {
        const hash = createHash('sha256');
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const go = (): void => {
          random.blocked = false;
          while (i * 65536 < random.total) {
            const c = Buffer.from(randomBytes(49152).toString('base64'));
            i += 1;
            hash.update(c);
            random.written += c.length;
            if (!res.write(c)) {
              random.blocked = true;
              return void res.once('drain', go);
            }
          }
          random.sha = hash.digest('hex');
          res.end();
        };
        return go();
      }
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, releaseSse: () => release(), random };
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function fetchRaw(agent: ReturnType<typeof client>, url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<Raw> {
  const res = await request(url, { dispatcher: agent, method, headers });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

function decode(raw: Raw): Buffer {
  const coding = raw.headers['content-encoding'];
  return coding === 'br' ? brotliDecompressSync(raw.body) : coding === 'gzip' ? gunzipSync(raw.body) : raw.body;
}

const POOL = (url: string, extra = ''): string => `health_check: false\nbackends: [${url}]\ncompression: true\n${extra}`;

test('gzip and br by the client\'s q-values: the body decompresses to the backend\'s bytes; Content-Length gone, ETag weak, Vary appended; bytes_out is what was sent', async (t) => {
  const backend = await startBackend(t);
  const velo = await startVelo(t, POOL(backend.url));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const agent = client(t);
  const cases: Array<[string, string]> = [
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0.5, br;q=0.4', 'gzip'],
    ['*', 'br'],
  ];
  for (const [i, [accept, coding]] of cases.entries()) {
    const raw = await fetchRaw(agent, `${velo.url}/html`, { 'accept-encoding': accept });
    t.is(raw.status, 200);
    t.is(raw.headers['content-encoding'], coding, accept);
    t.is(raw.headers['content-length'], undefined);
    t.is(raw.headers.etag, 'W/"v1"');
    t.is(raw.headers.vary, 'Origin, Accept-Encoding');
    t.true(raw.body.length < HTML.length / 4, `${coding} is smaller`);
    t.true(decode(raw).equals(HTML));
    await eventually(() => records.length === i + 1, 2000, 'the record');
    t.is(records[i]!.bytesOut, raw.body.length, 'bytes_out counts compressed bytes');
  }
});

test('a large streamed body (8 MB, chunked) arrives whole in br and gzip', async (t) => {
  const backend = await startBackend(t);
  const velo = await startVelo(t, POOL(backend.url));
  const agent = client(t);
  const expected = Buffer.concat(Array.from({ length: STREAM_CHUNKS }, () => STREAM_CHUNK));
  for (const coding of ['br', 'gzip']) {
    const raw = await fetchRaw(agent, `${velo.url}/stream`, { 'accept-encoding': coding });
    t.is(raw.headers['content-encoding'], coding);
    t.is(raw.headers['transfer-encoding'], 'chunked');
    t.true(decode(raw).equals(expected));
  }
});

test('never compressed: no-transform, Range, 206, a small body, already encoded, HEAD, 304, other types, no Accept-Encoding, a pool without compression', async (t) => {
  const backend = await startBackend(t);
  const yaml = `pools:
  - name: on
    health_check: false
    backends: [${backend.url}]
    compression: { min_size: 1KiB }
  - name: off
    match: { host: off.example }
    health_check: false
    backends: [${backend.url}]
`;
  const velo = await startVelo(t, yaml);
  const agent = client(t);
  const gz = { 'accept-encoding': 'gzip, br' };
  const cases: Array<[string, string, Record<string, string>, 'GET' | 'HEAD', number, Buffer]> = [
    ['Cache-Control: no-transform', '/notransform', gz, 'GET', 200, HTML],
    ['a Range request answered 200', '/ranged', { ...gz, range: 'bytes=0-99' }, 'GET', 200, HTML],
    ['a 206 with Content-Range', '/partial', gz, 'GET', 206, HTML.subarray(0, 10000)],
    ['a body below min_size', '/small', gz, 'GET', 200, SMALL],
    ['an image/png', '/png', gz, 'GET', 200, HTML],
    ['a HEAD request', '/html', gz, 'HEAD', 200, Buffer.alloc(0)],
    ['a 304', '/etag', { ...gz, 'if-none-match': '"v1"' }, 'GET', 304, Buffer.alloc(0)],
    ['no Accept-Encoding', '/html', {}, 'GET', 200, HTML],
    ['Accept-Encoding: identity', '/html', { 'accept-encoding': 'identity' }, 'GET', 200, HTML],
    ['a pool without compression', '/html', { ...gz, host: 'off.example' }, 'GET', 200, HTML],
  ];
  for (const [what, path, headers, method, status, body] of cases) {
    const raw = await fetchRaw(agent, `${velo.url}${path}`, headers, method);
    t.is(raw.status, status, what);
    t.is(raw.headers['content-encoding'], undefined, what);
    t.true(raw.body.equals(body), what);
  }
  const head = await fetchRaw(agent, `${velo.url}/html`, gz, 'HEAD');
  t.is(head.headers['content-length'], String(HTML.length), 'HEAD keeps the backend\'s Content-Length');
  t.is(head.headers.etag, '"v1"');
  const notAccepted = await fetchRaw(agent, `${velo.url}/html`);
  t.is(notAccepted.headers.vary, 'Origin, Accept-Encoding', 'the answer depended on Accept-Encoding');
  t.is(notAccepted.headers['content-length'], String(HTML.length));
  t.is((await fetchRaw(agent, `${velo.url}/html`, { ...gz, host: 'off.example' })).headers.vary, 'Origin');
  const encoded = await fetchRaw(agent, `${velo.url}/encoded`, gz);
  t.is(encoded.headers['content-encoding'], 'gzip', 'the backend\'s own coding passes');
  t.true(encoded.body.equals(gzipSync(HTML)), 'compressed once, not twice');
});

test('server-sent events pass uncompressed by default; when listed, each event reaches the client before the stream ends', async (t) => {
  const backend = await startBackend(t);
  const byDefault = await startVelo(t, POOL(backend.url));
  const listed = await startVelo(t, `health_check: false\nbackends: [${backend.url}]\ncompression: { types: [text/event-stream] }\n`);
  const agent = client(t);
  // Teardowns run last-registered first: a failed wait must not leave the clients' close waiting on an open stream.
  t.teardown(() => backend.releaseSse());
  const plain = await request(`${byDefault.url}/sse`, { dispatcher: agent, headers: { 'accept-encoding': 'gzip, br' } });
  t.is(plain.headers['content-encoding'], undefined);
  backend.releaseSse();
  t.is(await plain.body.text(), 'data: one\n\ndata: two\n\n');

  for (const coding of ['br', 'gzip']) {
    // Node sends the head with the first body bytes: without a flush neither would come.
    const res = await request(`${listed.url}/sse`, { dispatcher: agent, headers: { 'accept-encoding': coding }, headersTimeout: 3000 });
    t.is(res.headers['content-encoding'], coding);
    const decoder = coding === 'br' ? createBrotliDecompress() : createGunzip();
    let text = '';
    decoder.on('data', (d: Buffer) => (text += d.toString()));
    res.body.pipe(decoder);
    await eventually(() => text === 'data: one\n\n', 3000, 'the first event, flushed while the stream is open');
    backend.releaseSse();
    await new Promise((r) => decoder.on('end', r));
    t.is(text, 'data: one\n\ndata: two\n\n');
  }
});

test('backpressure: a client that stops reading holds the backend back, then gets every byte', async (t) => {
  const backend = await startBackend(t);
  const velo = await startVelo(t, POOL(backend.url, 'timeouts: { idle: 30s }\n'));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: velo.engine.address.port, path: '/random', agent: false, headers: { 'accept-encoding': 'gzip' } }, resolve).on('error', reject);
  });
  res.pause();
  t.teardown(() => res.destroy());
  t.is(res.headers['content-encoding'], 'gzip');
  const state = backend.random;
  let last = -1;
  let still = 0;
  // Poll until the backend has been stuck on a full socket for 20 polls in a row (velo stopped
  // reading it), or until it wrote everything (velo buffered the body instead).
  await eventually(() => {
    still = state.blocked && state.written === last ? still + 1 : 0;
    last = state.written;
    return still >= 20 || state.sha !== undefined;
  }, 20_000, 'the backend to stall or finish');
  t.is(state.sha, undefined, 'velo stopped reading the backend while the client did not read');
  t.true(state.written < state.total);

  const hash = createHash('sha256');
  let compressed = 0;
  let plain = 0;
  const gunzip = createGunzip();
  gunzip.on('data', (d: Buffer) => {
    plain += d.length;
    hash.update(d);
  });
  res.on('data', (d: Buffer) => (compressed += d.length));
  res.pipe(gunzip);
  await new Promise((r) => gunzip.on('end', r));
  t.is(plain, state.written);
  t.is(hash.digest('hex'), state.sha);
  await eventually(() => records.length === 1, 2000, 'the record');
  t.is(records[0]!.bytesOut, compressed);
  t.is(records[0]!.termination, '-');
});

test('a client that stops reading a compressed body is dropped after timeouts.idle and frees its backend slot', async (t) => {
  const backend = await startBackend(t);
  const velo = await startVelo(t, POOL(backend.url, 'timeouts: { idle: 500ms }\n'));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const socket = net.connect(velo.engine.address.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write('GET /random HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n');
  socket.pause();
  const u = velo.engine.pools[0]!.upstreams[0]!;
  await eventually(() => u.inFlight === 1, 3000, 'in flight');
  await eventually(() => u.inFlight === 0 && velo.engine.totals.inFlight === 0, 10_000, 'slot freed');
  t.is(u.counters.failures, 0, 'the client, not the backend, was at fault');
  t.is(records[0]?.termination, 'DC');
  t.true(backend.random.sha === undefined, 'the body was not read to its end');
});

test('bad compression settings are config errors with their line and column', (t) => {
  const yaml = `backends: [http://127.0.0.1:1]
compression:
  algorithms: [br, deflate, br]
  min_size: lots
  types: [text/html, text, "*/*"]
`;
  const err = t.throws(() => parseConfigText(yaml, 'velo.yaml'), { instanceOf: ConfigError });
  const issues = (err as ConfigError).issues.map((i) => `${i.path}@${i.line}:${i.column}: ${i.message}`);
  t.deepEqual(issues, [
    'compression.algorithms[1]@3:20: "deflate" is not a compression algorithm',
    'compression.algorithms[2]@3:29: br is listed twice',
    'compression.min_size@4:13: "lots" is not a size',
    'compression.types[1]@5:22: "text" is not a media type',
    'compression.types[2]@5:28: "*/*" is not a media type',
  ]);
});
