/**
 * Issue 8 §1: an upgrade is a request. Handshakes get the plain-HTTP path's headers, retries,
 * deadlines and accounting; tunnels relay half-close; other Upgrade tokens are served as HTTP/1.1.
 */
import test from 'ava';
import net from 'node:net';
import { Agent, request } from 'undici';
import { eventually, refusingUrl, startBackends, startVelo } from './harness.js';
import { HANDSHAKE, accept101, converse, exchange, rawBackend, upgradeBackend } from './raw-peers.js';
import type { RequestRecord } from '../../src/engine/request-record.js';
import type { Engine } from '../../src/engine/engine.js';
import { VeloMetrics } from '../../src/metrics/prometheus.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

test('a handshake gets the same forwarded headers as a request, and no hop-by-hop field reaches the backend', async (t) => {
  const backend = await upgradeBackend(t, (_req, socket) => accept101(socket));
  const velo = await startVelo(t, NO_HEALTH, [backend.url]);
  const c = converse(t, velo.engine.address.port);
  c.socket.write(
    'GET /chat?room=1 HTTP/1.1\r\nHost: app.test:8080\r\nConnection: Upgrade, X-Hop-Secret\r\nUpgrade: websocket\r\n' +
      'X-Hop-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nProxy-Connection: keep-alive\r\n' +
      'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nX-Real-IP: 6.6.6.6\r\nX-Request-Id: ws-1\r\n' +
      'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const reply = await c.until('\r\n\r\n');
  t.regex(reply, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  t.regex(reply, /\r\nconnection: Upgrade\r\n/i);
  t.regex(reply, /\r\nupgrade: websocket\r\n/i);
  const seen = backend.heads[0]!;
  for (const name of ['x-hop-secret', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'x-forwarded-port']) {
    t.is(seen[name], undefined, `${name} must not reach the backend`);
  }
  t.is(seen.upgrade, 'websocket');
  t.is(seen.connection?.toLowerCase(), 'upgrade');
  t.is(seen['sec-websocket-key'], 'AAAAAAAAAAAAAAAAAAAAAA==');
  // The peer is not a trusted proxy: its X-Forwarded-For is kept and the peer appended; the rest is velo's.
  t.is(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
  t.is(seen['x-forwarded-proto'], 'http');
  t.is(seen['x-forwarded-host'], 'app.test:8080');
  t.is(seen['x-real-ip'], '127.0.0.1');
  t.is(seen['x-request-id'], 'ws-1');
  t.is(seen.host, 'app.test:8080');
});

test('a trusted proxy in front keeps its X-Forwarded-Proto and client address on a handshake', async (t) => {
  const backend = await upgradeBackend(t, (_req, socket) => accept101(socket));
  const velo = await startVelo(t, `${NO_HEALTH}trust_proxy: [127.0.0.1]\n`, [backend.url]);
  const c = converse(t, velo.engine.address.port);
  c.socket.write(HANDSHAKE.replace('Host: x\r\n', 'Host: x\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n'));
  await c.until('\r\n\r\n');
  const seen = backend.heads[0]!;
  t.is(seen['x-forwarded-proto'], 'https');
  t.is(seen['x-real-ip'], '203.0.113.9');
  t.is(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
});

test('a handshake whose backend refuses the connection goes to another: four in a row are four 101s', async (t) => {
  const live = await upgradeBackend(t, (_req, socket) => accept101(socket, 'live'));
  const velo = await startVelo(t, `${NO_HEALTH}strategy: round-robin\nretry: { attempts: 2, backoff_base: 0ms }\n`, [refusingUrl(), live.url]);
  for (let i = 0; i < 4; i++) {
    const c = converse(t, velo.engine.address.port);
    c.socket.write(HANDSHAKE);
    t.regex(await c.until('\r\n\r\n'), /^HTTP\/1\.1 101 /, `handshake ${i}`);
    c.socket.destroy();
  }
  const dead = velo.engine.pools[0]!.upstreams[0]!;
  t.true(dead.counters.failures >= 1, 'the refusal counts against the dead backend');
  t.true(dead.breaker.failures >= 1 || dead.breaker.state === 'open', 'and against its breaker');
});

test('a handshake with no backend left gets velo JSON 502, never an empty reply', async (t) => {
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\n`, [refusingUrl()]);
  const reply = await exchange(velo.engine.address.port, HANDSHAKE);
  t.regex(reply, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  t.regex(reply, /content-type: application\/json/);
  t.regex(reply, /\r\n\r\n\{"error":"upstream connect failed","request_id":"[^"]+"\}\n$/);
});

test('a backend that accepts and never answers a handshake gets a 504 within timeouts.response, and no backend socket stays open', async (t) => {
  let headAt = 0;
  const silent = await rawBackend(t, (socket) => socket.once('data', () => (headAt = Date.now())));
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\ntimeouts: { response: 400ms }\n`, [silent.url]);
  const started = Date.now();
  const reply = await exchange(velo.engine.address.port, HANDSHAKE);
  const answeredAt = Date.now();
  t.regex(reply, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  // Measured from the handshake's arrival at the backend, so a loaded machine's connect time does not count.
  t.true(answeredAt - started >= 390, `504 after ${answeredAt - started} ms`);
  t.true(answeredAt - headAt <= 400 + 150, `504 ${answeredAt - headAt} ms after the backend got the handshake`);
  await eventually(() => silent.open() === 0, 2000, 'backend socket closed');
  t.is(velo.engine.totals.inFlight, 0);
});

test('a client that leaves during the handshake closes the backend connection at once', async (t) => {
  const silent = await rawBackend(t, () => {});
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { response: 30s }\n`, [silent.url]);
  const c = converse(t, velo.engine.address.port);
  c.socket.write(HANDSHAKE);
  await eventually(() => silent.open() === 1, 2000, 'handshake reached the backend');
  const left = Date.now();
  c.socket.destroy();
  await eventually(() => silent.open() === 0, 1000, 'backend socket closed');
  t.true(Date.now() - left < 500);
  await eventually(() => velo.engine.totals.inFlight === 0, 1000, 'request finished');
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 0);
  t.is(velo.engine.pools[0]!.upstreams[0]!.counters.failures, 0, 'a client leaving is not the backend failing');
});

test('half-close: a client FIN reaches the backend, which may keep sending, and nothing is lost', async (t) => {
  const backend = await upgradeBackend(t, (_req, socket) => {
    accept101(socket);
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('end', () => {
      // The client has finished sending; answer afterwards, then end our side.
      setTimeout(() => socket.end(`got:${got};after-fin`), 50);
    });
  });
  const velo = await startVelo(t, NO_HEALTH, [backend.url]);
  const c = converse(t, velo.engine.address.port);
  c.socket.write(HANDSHAKE);
  await c.until('\r\n\r\n');
  c.socket.end('client-data');
  await c.closed;
  t.true(c.received().endsWith('\r\n\r\ngot:client-data;after-fin'), c.received());
  await eventually(() => velo.engine.tunnels.size === 0 && velo.engine.totals.inFlight === 0, 2000, 'tunnel closed');
});

test('half-close: a backend FIN reaches the client, which may keep sending to the backend', async (t) => {
  let backendGot = '';
  let backendSawEnd = false;
  const backend = await upgradeBackend(t, (_req, socket) => {
    accept101(socket);
    socket.end('server-done');
    socket.on('data', (d: Buffer) => (backendGot += d.toString()));
    socket.on('end', () => (backendSawEnd = true));
  });
  const velo = await startVelo(t, NO_HEALTH, [backend.url]);
  const c = converse(t, velo.engine.address.port);
  let clientSawEnd = false;
  c.socket.on('end', () => (clientSawEnd = true));
  c.socket.write(HANDSHAKE);
  await c.until('server-done');
  await eventually(() => clientSawEnd, 2000, 'FIN passed to the client');
  c.socket.write('late-1');
  c.socket.end('late-2');
  await eventually(() => backendSawEnd, 2000, 'client FIN passed to the backend');
  t.is(backendGot, 'late-1late-2');
  await eventually(() => velo.engine.tunnels.size === 0, 2000, 'tunnel closed');
});

test('a tunnel is in flight for its backend, counted, logged once with bytes each way, and exported', async (t) => {
  const echo = await startBackends(t, 2);
  const velo = await startVelo(t, `${NO_HEALTH}strategy: least-connections\n`, echo.map((b) => b.url));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const c = converse(t, velo.engine.address.port);
  c.socket.write(HANDSHAKE);
  await c.until('\r\n\r\n');
  const [first, second] = velo.engine.pools[0]!.upstreams;
  const tunnelled = first!.tunnels === 1 ? first! : second!;
  const other = tunnelled === first ? second! : first!;
  t.is(tunnelled.inFlight, 1);
  t.is(tunnelled.tunnels, 1);
  velo.engine.sampler.tick();
  t.is(velo.engine.snapshot.pools[0]!.backends.find((b) => b.id === tunnelled.id)!.tunnels, 1);
  // least-connections sees the open tunnel: plain requests go to the other backend.
  const agent = new Agent();
  t.teardown(() => agent.close());
  for (let i = 0; i < 3; i++) {
    const res = await request(velo.url, { dispatcher: agent });
    await res.body.text();
    t.is(res.headers['x-backend'], other.id === echo[0]!.url ? 'b0' : 'b1');
  }
  const metrics = await fetchMetrics(velo.engine);
  t.regex(metrics, new RegExp(`velo_websocket_connections\\{pool="default",backend="${tunnelled.id}",name="${tunnelled.name}"\\} 1`));
  t.regex(metrics, new RegExp(`velo_websocket_sessions_total\\{pool="default",backend="${tunnelled.id}",name="${tunnelled.name}"\\} 1`));
  const before = velo.engine.totals.requests;
  // One masked text frame "hi" (8 bytes on the wire), echoed unmasked (4 bytes), then a close frame.
  c.socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]));
  await c.until('hi');
  c.socket.write(Buffer.from([0x88, 0x80, 1, 2, 3, 4]));
  c.socket.on('end', () => c.socket.end());
  await eventually(() => tunnelled.inFlight === 0, 2000, 'tunnel released');
  t.is(tunnelled.tunnels, 0);
  t.is(velo.engine.totals.requests, before + 1);
  t.is(velo.engine.totals.inFlight, 0);
  const log = records.filter((r) => r.status === 101);
  t.is(log.length, 1);
  t.like(log[0], { status: 101, termination: '-', backend: tunnelled.id, backendName: tunnelled.name, bytesIn: 8 + 6, bytesOut: 4 + 2 });
  t.true(log[0]!.totalMs >= 0);
  t.regex(await fetchMetrics(velo.engine), new RegExp(`velo_websocket_connections\\{pool="default",backend="${tunnelled.id}",name="${tunnelled.name}"\\} 0`));
});

test('other Upgrade tokens (h2c) are served as plain HTTP/1.1 without the upgrade headers, body included', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const get = await exchange(
    velo.engine.address.port,
    'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
  );
  t.regex(get, /^HTTP\/1\.1 200 OK\r\n/);
  const echoed = JSON.parse(get.slice(get.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
  t.false('upgrade' in echoed.headers);
  t.false('http2-settings' in echoed.headers);
  t.is(echoed.headers.connection, 'keep-alive');
  const post = await exchange(
    velo.engine.address.port,
    'POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello',
  );
  t.regex(post, /^HTTP\/1\.1 200 OK\r\n/);
  t.is((JSON.parse(post.slice(post.indexOf('\r\n\r\n') + 4)) as { body: string }).body, 'hello');
});

async function fetchMetrics(engine: Engine): Promise<string> {
  const metrics = new VeloMetrics(engine, { processMetrics: false });
  try {
    return await metrics.registry.metrics();
  } finally {
    metrics.close();
  }
}

test('a dead backend refused on a handshake is skipped without leaving a socket behind', async (t) => {
  // Connection counting on velo's side: after four refused-then-retried handshakes, no stray fds.
  const live = await upgradeBackend(t, (_req, socket) => {
    accept101(socket);
    socket.on('end', () => socket.end());
  });
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 2, backoff_base: 0ms }\n`, [refusingUrl(), live.url]);
  const conns: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const c = converse(t, velo.engine.address.port);
    c.socket.write(HANDSHAKE);
    await c.until('\r\n\r\n');
    conns.push(c.socket);
  }
  t.is(velo.engine.tunnels.size, 4);
  for (const s of conns) s.destroy();
  await eventually(() => velo.engine.totals.inFlight === 0, 2000, 'all released');
  const count = await new Promise<number>((r) => live.server.getConnections((_e, n) => r(n)));
  await eventually(async () => (await new Promise<number>((r) => live.server.getConnections((_e, n) => r(n)))) === 0, 2000, `backend sockets closed (${count})`);
  t.pass();
});
