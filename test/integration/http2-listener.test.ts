/**
 * HTTP/2 to clients on real sockets: h2 by ALPN on a TLS listener, h2c with prior knowledge on a
 * plain one, each stream a request of the same pipeline (accounting, errors, client resets,
 * timeouts), GOAWAY on shutdown, and HTTP/1.1 unchanged on the same port.
 */
import test from 'ava';
import http2 from 'node:http2';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request as undiciRequest } from 'undici';
import { startBackends, startVelo, eventually, client, get } from './harness.js';
import { certDir, makeCert } from './tls-certs.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestRecord } from '../../src/engine/request-record.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on `session`; `body` is sent and the stream ended. */
function h2(session: http2.ClientHttp2Session, path: string, opts: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: string } = {}): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': opts.method ?? 'GET', ...opts.headers }, { endStream: opts.body === undefined });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString('utf8') }));
    stream.on('error', reject);
    if (opts.body !== undefined) stream.end(opts.body);
  });
}

function connect(t: import('ava').ExecutionContext, url: string, options: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { rejectUnauthorized: false, ...options }, () => resolve(session));
    session.once('error', reject);
    t.teardown(() => {
      if (!session.destroyed) session.destroy();
    });
  });
}

function records(velo: { engine: { observers: Array<(r: RequestRecord) => void> } }): RequestRecord[] {
  const out: RequestRecord[] = [];
  velo.engine.observers.push((r) => out.push(r));
  return out;
}

test('h2c: prior knowledge is HTTP/2, the backend gets HTTP/1.1 with Host from :authority, cookies joined, the body whole', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\n${NO_HEALTH}`, [b!.url]);
  const session = await connect(t, velo.url);
  const reply = await h2(session, '/echo?q=1&r=%20', { method: 'POST', headers: { cookie: ['a=1', 'b=2'], 'x-custom': 'v', 'content-type': 'text/plain' }, body: 'hello over h2' });
  t.is(reply.status, 200);
  const seen = JSON.parse(reply.body) as { method: string; url: string; headers: Record<string, string>; body: string };
  t.is(seen.method, 'POST');
  t.is(seen.url, '/echo?q=1&r=%20');
  t.is(seen.headers.host, `127.0.0.1:${velo.engine.address.port}`);
  t.is(seen.headers.cookie, 'a=1; b=2');
  t.is(seen.headers['x-custom'], 'v');
  t.is(seen.body, 'hello over h2');
  t.false(Object.keys(seen.headers).some((h) => h.startsWith(':')), 'no pseudo-header reaches the backend');
  t.is(reply.headers['x-backend'], 'b0');
  t.is(reply.headers.connection, undefined);
  // The same port still speaks HTTP/1.1.
  const h1 = await get(client(t), `${velo.url}/`);
  t.is(h1.status, 200);
  t.is(h1.body, 'b0\n');
});

test('h2c: a body without content-length is streamed upstream whole (chunked to an HTTP/1.1 backend)', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\n${NO_HEALTH}`, [b!.url]);
  const session = await connect(t, velo.url);
  const big = 'x'.repeat(300_000);
  const reply = await h2(session, '/echo', { method: 'PUT', body: big });
  const seen = JSON.parse(reply.body) as { body: string; headers: Record<string, string> };
  t.is(seen.body.length, big.length);
  t.is(seen.headers['transfer-encoding'], 'chunked');
});

test('TLS: ALPN h2 for HTTP/2 clients, http/1.1 for others; listen.http2: false offers HTTP/1.1 only', async (t) => {
  const dir = certDir(t);
  const c = makeCert(dir, 'leaf', ['localhost', '127.0.0.1']);
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} } }\n${NO_HEALTH}`, [b!.url]);
  const url = `https://127.0.0.1:${velo.engine.address.port}`;
  const session = await connect(t, url);
  t.is(session.alpnProtocol, 'h2');
  const reply = await h2(session, '/echo');
  t.is(reply.status, 200);
  t.is((JSON.parse(reply.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
  const h1 = await undiciRequest(`${url}/`, { dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }) });
  t.is(h1.statusCode, 200);
  t.is(await h1.body.text(), 'b0\n');

  const off = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} }, http2: false }\n${NO_HEALTH}`, [b!.url]);
  const err = await t.throwsAsync(connect(t, `https://127.0.0.1:${off.engine.address.port}`));
  t.truthy(err, 'an h2-only client cannot negotiate h2 when listen.http2 is false');
});

test('curl --http2 and --http2-prior-knowledge get HTTP/2 answers', async (t) => {
  const curl = await promisify(execFile)('curl', ['--version']).catch(() => undefined);
  if (curl === undefined || !/HTTP2/.test(curl.stdout)) {
    t.log('curl with HTTP/2 is not installed here: skipped');
    t.pass();
    return;
  }
  const dir = certDir(t);
  const c = makeCert(dir, 'leaf', ['127.0.0.1']);
  const [b] = await startBackends(t, 1);
  const plain = await startVelo(t, `listen: { h2c: true }\n${NO_HEALTH}`, [b!.url]);
  const tls = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} } }\n${NO_HEALTH}`, [b!.url]);
  const run = (args: string[]): Promise<string> => promisify(execFile)('curl', ['-sk', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', ...args]).then((r) => r.stdout);
  t.is(await run(['--http2-prior-knowledge', `${plain.url}/`]), '2 200');
  t.is(await run(['--http2', `https://127.0.0.1:${tls.engine.address.port}/`]), '2 200');
  t.is(await run(['--http1.1', `https://127.0.0.1:${tls.engine.address.port}/`]), '1.1 200');
});

test('each stream is a request: 40 concurrent streams on one session are 40 requests in every count', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startVelo(t, `listen: { h2c: true }\n${NO_HEALTH}`, backends.map((b) => b.url));
  const seen = records(velo);
  const session = await connect(t, velo.url);
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => h2(session, `/delay/20?i=${i}`)));
  t.true(replies.every((r) => r.status === 200));
  t.is(velo.engine.totals.requests, 40);
  t.is(velo.engine.totals.success, 40);
  t.is(velo.engine.totals.inFlight, 0);
  t.is(seen.length, 40);
  t.true(seen.every((r) => r.termination === '-' && r.status === 200));
  t.deepEqual(backends.map((b) => b.requests), [20, 20], 'round robin over streams');
});

test('a client RST_STREAM is a client abort (DC, 499): the backend request is cancelled, the session lives on', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\n${NO_HEALTH}`, [b!.url]);
  const seen = records(velo);
  const session = await connect(t, velo.url);
  const stream = session.request({ ':path': '/delay/5000' });
  stream.on('error', () => {});
  await eventually(() => velo.engine.totals.inFlight === 1, 3000, 'the request in flight');
  stream.close(http2.constants.NGHTTP2_CANCEL);
  await eventually(() => seen.length === 1, 3000, 'the record');
  t.is(seen[0]!.termination, 'DC');
  t.is(seen[0]!.status, 499);
  t.is(velo.engine.totals.inFlight, 0);
  await eventually(() => velo.engine.pools[0]!.upstreams[0]!.inFlight === 0, 3000, 'the backend slot released');
  const next = await h2(session, '/');
  t.is(next.status, 200, 'other streams of the session are unaffected');
});

test('velo\'s own answers on HTTP/2: 404 and 502 with the JSON body and no Connection header', async (t) => {
  const velo = await startVelo(t, `listen: { h2c: true }\npools:\n  - name: api\n    match: { path_prefix: /api }\n    health_check: { enabled: false }\n    backends: [ http://127.0.0.1:1 ]\n`);
  const session = await connect(t, velo.url);
  const missing = await h2(session, '/nothing');
  t.is(missing.status, 404);
  t.regex(missing.body, /no pool matches/);
  const down = await h2(session, '/api/x');
  t.is(down.status, 502);
  t.regex(down.body, /upstream connect failed/);
  t.is(down.headers.connection, undefined);
});

test('shutdown sends GOAWAY: the stream in flight completes, the session closes, velo stops', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\nshutdown_timeout: 10s\n${NO_HEALTH}`, [b!.url]);
  const session = await connect(t, velo.url);
  let goaway = false;
  session.on('goaway', () => (goaway = true));
  session.on('error', () => {});
  const slow = h2(session, '/delay/600');
  await eventually(() => velo.engine.totals.inFlight === 1, 3000, 'the request in flight');
  const stopped = velo.engine.stop();
  await eventually(() => goaway, 3000, 'GOAWAY');
  t.is((await slow).status, 200, 'the stream in flight finished');
  const summary = await stopped;
  t.is(summary.cut, 0);
  await eventually(() => session.closed || session.destroyed, 3000, 'the client session closed');
  t.pass();
});

test('a session that opens no stream is closed after the header timeout; a stream whose body stalls gets 408', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\nclient_timeouts: { header: 300ms, request: 400ms }\n${NO_HEALTH}`, [b!.url]);
  const idle = await connect(t, velo.url);
  let idleClosed = false;
  idle.on('close', () => (idleClosed = true));
  idle.on('error', () => {});
  await eventually(() => idleClosed, 3000, 'the idle session closed');

  const session = await connect(t, velo.url);
  const stream = session.request({ ':path': '/echo', ':method': 'POST' }, { endStream: false });
  stream.write('part of a body that never ends');
  const status = await new Promise<number>((resolve) => {
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', () => resolve(-1));
  });
  t.is(status, 408);
  await eventually(() => velo.engine.totals.inFlight === 0, 3000, 'nothing in flight');
});

test('PROXY protocol then h2c: the client address comes from the PROXY header', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true, proxy_protocol: { trusted: [127.0.0.1] } }\n${NO_HEALTH}`, [b!.url]);
  const session = await connect(t, velo.url, {
    createConnection: () => {
      const socket = net.connect(velo.engine.address.port, '127.0.0.1');
      socket.write('PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n');
      return socket;
    },
  });
  const reply = await h2(session, '/echo');
  const seen = JSON.parse(reply.body) as { headers: Record<string, string> };
  t.is(seen.headers['x-real-ip'], '203.0.113.7');
  t.is(seen.headers['x-forwarded-for'], '203.0.113.7');
});

test('config: h2c with tls is an error naming listen.h2c with its line; http2 must be a boolean', async (t) => {
  const dir = certDir(t);
  const c = makeCert(dir, 'leaf', ['127.0.0.1']);
  const err = await t.throwsAsync(startVelo(t, `listen:\n  tls: { cert: ${c.cert}, key: ${c.key} }\n  h2c: true\n`), { instanceOf: ConfigError });
  t.regex(err!.message, /:3:\d+ listen\.h2c: h2c is cleartext/);
  const bad = await t.throwsAsync(startVelo(t, 'listen:\n  http2: sometimes\n'), { instanceOf: ConfigError });
  t.regex(bad!.message, /listen\.http2/);
});
