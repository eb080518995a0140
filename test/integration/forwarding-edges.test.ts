/**
 * Edges found by reviewing the one request path: requests sharing a client's X-Request-Id,
 * WebSocket handshakes that declare a body, slow uploads under a short response timeout,
 * Connection options naming end-to-end fields, malformed absolute-form authorities.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { eventually, startVelo } from './harness.js';
import { HANDSHAKE, exchange, headersOf, onRequestHeads, rawBackend } from './raw-peers.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

test('requests sharing one X-Request-Id never touch each other: a client leaving cancels only its own request', async (t) => {
  // The backend answers each POST 300 ms after its whole body arrived.
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end(`done ${req.url}\n`), 300));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const velo = await startVelo(t, NO_HEALTH, [`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`]);
  const port = velo.engine.address.port;
  const open = (path: string) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    t.teardown(() => s.destroy());
    let out = '';
    s.on('data', (d: Buffer) => (out += d));
    s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: same-id\r\nContent-Length: 4\r\n\r\n`);
    return { s, reply: () => out, closed: new Promise<void>((r) => s.on('close', () => r())) };
  };
  const a = open('/a');
  const b = open('/b');
  a.s.write('body');
  await new Promise((r) => setTimeout(r, 50));
  const c = open('/c');
  await new Promise((r) => setTimeout(r, 50));
  b.s.write('body');
  c.s.write('body');
  await new Promise((r) => setTimeout(r, 50));
  c.s.destroy();
  await Promise.all([a.closed, b.closed]);
  t.regex(a.reply(), /^HTTP\/1\.1 200 OK[^]*done \/a\n$/);
  t.regex(b.reply(), /^HTTP\/1\.1 200 OK[^]*done \/b\n$/);
  await eventually(() => velo.engine.totals.inFlight === 0, 2000, 'every request finished');
  t.is(velo.engine.pools[0]!.upstreams[0]!.counters.failures, 0);
});

test('a WebSocket handshake that declares a body gets 400 and costs no backend anything', async (t) => {
  let handshakes = 0;
  const backend = await rawBackend(t, () => handshakes++);
  const velo = await startVelo(t, `${NO_HEALTH}circuit_breaker: { failure_threshold: 1 }\n`, [backend.url]);
  for (let i = 0; i < 3; i++) {
    const reply = await exchange(velo.engine.address.port, HANDSHAKE.replace('Host: x\r\n', 'Host: x\r\nContent-Length: 5\r\n') + 'hello');
    t.regex(reply, /^HTTP\/1\.1 400 Bad Request\r\n[^]*"error":"a WebSocket handshake cannot carry a body"/);
  }
  t.is(handshakes, 0);
  t.is(velo.engine.pools[0]!.upstreams[0]!.breaker.state, 'closed');
});

test('a slow upload is not cut by the response timeout: the deadline starts once the request is sent', async (t) => {
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.end(`got ${n}\n`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { response: 300ms }\n`, [`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`]);
  const reply = await new Promise<string>((resolve) => {
    const s = net.connect(velo.engine.address.port, '127.0.0.1', async () => {
      s.write('PUT /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 50\r\n\r\n');
      for (let i = 0; i < 5; i++) {
        s.write('0123456789');
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d));
    s.on('close', () => resolve(out));
  });
  t.regex(reply, /^HTTP\/1\.1 200 OK[^]*got 50\n$/);
  t.is(velo.engine.pools[0]!.upstreams[0]!.counters.failures, 0);
});

test('Connection options never strip Host or Content-Length', async (t) => {
  let seen = '';
  const backend = await rawBackend(t, (socket) =>
    onRequestHeads(socket, (head) => {
      seen = head;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }),
  );
  const velo = await startVelo(t, NO_HEALTH, [backend.url]);
  const reply = await exchange(velo.engine.address.port, 'GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close, Host, X-Drop\r\nX-Drop: 1\r\n\r\n');
  t.regex(reply, /^HTTP\/1\.1 200 OK/);
  t.is(headersOf(seen).host, 'app.test');
  t.is(headersOf(seen)['x-forwarded-host'], 'app.test');
  t.false('x-drop' in headersOf(seen));
});

test('absolute-form authorities that are not host[:port] get 400', async (t) => {
  const backend = await rawBackend(t, (socket) => onRequestHeads(socket, () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  const velo = await startVelo(t, NO_HEALTH, [backend.url]);
  for (const target of ['http://:80/', 'http://h:80:90/', 'http://h:99999/', 'http://a"b{}/', 'http://user@h/']) {
    t.regex(await exchange(velo.engine.address.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /, target);
  }
  t.is(backend.accepted, 0);
  t.regex(await exchange(velo.engine.address.port, 'GET http://[::1]:8080/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
});
