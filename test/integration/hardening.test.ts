/**
 * Issue 9 §1: no client can hold a backend's connections. Slow uploads no longer starve a
 * backend behind undici's old 256-connection ceiling; velo's own `max_connections` rules and
 * answers at once; a client cut mid-upload (by its own close or velo's request timeout) closes
 * the upstream connection it was using at once. Counts sockets, not only statuses.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { eventually, startVelo } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

interface CountingBackend {
  url: string;
  /** Connections open on the backend now. */
  open(): number;
  /** Requests whose headers arrived. */
  started: number;
}

/** A backend that answers GETs at once and reads POST bodies to the end before answering. */
async function countingBackend(t: Parameters<typeof startVelo>[0]): Promise<CountingBackend> {
  const sockets = new Set<net.Socket>();
  const backend: CountingBackend = { url: '', open: () => sockets.size, started: 0 };
  const server = http.createServer((req, res) => {
    backend.started += 1;
    req.on('data', () => {});
    req.on('end', () => res.end('ok\n'));
    req.on('error', () => {});
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  backend.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return backend;
}

/** A client that sends a POST head promising 100 bytes and one byte of body, then nothing. */
function slowUpload(t: Parameters<typeof startVelo>[0], port: number): net.Socket {
  const s = net.connect(port, '127.0.0.1', () => s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx'));
  s.on('error', () => {});
  t.teardown(() => s.destroy());
  return s;
}

function getStatus(port: number): Promise<{ status: number; ms: number; headers: http.IncomingHttpHeaders }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, ms: Date.now() - started, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

test.serial('260 slow uploads do not starve a backend: a GET to it is still answered at once', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `${NO_HEALTH}client_timeouts: { request: 60s }\n`, [backend.url]);
  const port = velo.engine.address.port;
  for (let i = 0; i < 260; i++) slowUpload(t, port);
  await eventually(() => backend.started >= 260, 10_000, 'all 260 uploads reached the backend');
  const reply = await getStatus(port);
  t.is(reply.status, 200);
  t.true(reply.ms < 2000, `answered after ${reply.ms} ms`);
});

test.serial('max_connections is the limit that rules: past it a request is answered 503 at once, and the snapshot shows it', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `${NO_HEALTH}max_connections: 5\nqueue: { size: 0 }\n`, [backend.url]);
  const port = velo.engine.address.port;
  for (let i = 0; i < 5; i++) slowUpload(t, port);
  await eventually(() => backend.started >= 5, 5000, 'five uploads in flight');
  const reply = await getStatus(port);
  t.is(reply.status, 503);
  t.truthy(reply.headers['retry-after']);
  t.true(reply.ms < 1000, `answered after ${reply.ms} ms`);
  velo.engine.sampler.tick();
  t.like(velo.engine.snapshot.pools[0]!.backends[0], { maxConnections: 5, inFlight: 5 });
});

test.serial('a request waiting for a slot has a deadline: queue.timeout answers 503', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `${NO_HEALTH}max_connections: 2\nqueue: { size: 10, timeout: 300ms }\n`, [backend.url]);
  const port = velo.engine.address.port;
  for (let i = 0; i < 2; i++) slowUpload(t, port);
  await eventually(() => backend.started >= 2, 5000, 'two uploads in flight');
  const reply = await getStatus(port);
  t.is(reply.status, 503);
  t.true(reply.ms >= 290 && reply.ms < 1000, `answered after ${reply.ms} ms`);
});

test.serial('a client that leaves mid-upload closes the upstream connection it was using at once', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { idle: 60s }\n`, [backend.url]);
  const clients = Array.from({ length: 10 }, () => slowUpload(t, velo.engine.address.port));
  await eventually(() => backend.started >= 10 && backend.open() === 10, 5000, 'ten uploads reached the backend');
  for (const c of clients) c.destroy();
  await eventually(() => backend.open() === 0, 1000, 'backend connections closed');
  await eventually(() => velo.engine.totals.inFlight === 0, 1000, 'requests finished');
  t.is(velo.engine.pools[0]!.upstreams[0]!.counters.failures, 0, 'a client leaving is not the backend failing');
});

test.serial('a client cut by the request timeout (408) cancels its upstream attempt at once', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `${NO_HEALTH}client_timeouts: { header: 1s, request: 1s }\ntimeouts: { idle: 60s }\n`, [backend.url]);
  const c = slowUpload(t, velo.engine.address.port);
  let reply = '';
  c.on('data', (d: Buffer) => (reply += d.toString('latin1')));
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  await eventually(() => backend.started === 1, 5000, 'the upload reached the backend');
  // The client never closes its side: velo must close the connection itself.
  await closed;
  t.regex(reply, /^HTTP\/1\.1 408 /);
  await eventually(() => backend.open() === 0, 1000, 'the upstream connection closed with the client');
  t.is(velo.engine.totals.inFlight, 0);
});
