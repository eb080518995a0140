import { exchange } from './raw-peers.js';
import test from 'ava';
import net from 'node:net';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { client, eventually, get, refusingUrl, startBackends, startVelo, tally } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

test('round robin starts at the first backend and gives exactly k each, sequentially', async (t) => {
  const backends = await startBackends(t, 3);
  const velo = await startVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const agent = client(t);
  const names: string[] = [];
  for (let i = 0; i < 30; i++) names.push((await get(agent, velo.url)).body.trim());
  t.deepEqual(names.slice(0, 3), ['b0', 'b1', 'b2']);
  t.deepEqual(tally(names), { b0: 10, b1: 10, b2: 10 });
});

test('round robin gives exactly k each under concurrency', async (t) => {
  const backends = await startBackends(t, 4);
  const velo = await startVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const agent = client(t, 64);
  const replies = await Promise.all(Array.from({ length: 200 }, () => get(agent, velo.url)));
  t.true(replies.every((r) => r.status === 200));
  t.deepEqual(tally(replies.map((r) => r.body.trim())), { b0: 50, b1: 50, b2: 50, b3: 50 });
});

test('weights from the config drive weighted round robin: 1,2,3 over 600 requests', async (t) => {
  const [a, b, c] = await startBackends(t, 3);
  const yaml = `strategy: weighted-round-robin\n${NO_HEALTH}backends:\n  - ${a!.url}\n  - { url: ${b!.url}, weight: 2 }\n  - { url: ${c!.url}, weight: 3 }\n`;
  const velo = await startVelo(t, yaml);
  const agent = client(t, 32);
  const names: string[] = [];
  for (let round = 0; round < 20; round++) {
    const replies = await Promise.all(Array.from({ length: 30 }, () => get(agent, velo.url)));
    names.push(...replies.map((r) => r.body.trim()));
  }
  t.deepEqual(tally(names), { b0: 100, b1: 200, b2: 300 });
});

test('an unhealthy backend is skipped and comes back when its checks pass', async (t) => {
  const backends = await startBackends(t, 3);
  // A generous probe timeout: on a loaded machine a 200 ms one made healthy backends flap.
  const velo = await startVelo(t, 'health_check: { interval: 50ms, timeout: 2s, rise: 2, fall: 2 }\n', backends.map((b) => b.url));
  const agent = client(t);
  const pool = velo.engine.pools[0]!;
  await eventually(() => pool.upstreams.every((u) => u.health.state === 'healthy'), 3000, 'all healthy');
  backends[1]!.setHealthy(false);
  await eventually(() => pool.upstreams[1]!.health.state === 'unhealthy', 3000, 'b1 unhealthy');
  const names: string[] = [];
  for (let i = 0; i < 20; i++) names.push((await get(agent, velo.url)).body.trim());
  t.deepEqual(tally(names), { b0: 10, b2: 10 });
  backends[1]!.setHealthy(true);
  await eventually(() => pool.upstreams[1]!.health.state === 'healthy', 3000, 'b1 healthy');
  const after: string[] = [];
  for (let i = 0; i < 30; i++) after.push((await get(agent, velo.url)).body.trim());
  t.deepEqual(tally(after), { b0: 10, b1: 10, b2: 10 });
  const healthEvents = velo.engine.events.recent().filter((e) => e.kind === 'health' && e.backend === pool.upstreams[1]!.id);
  t.deepEqual(
    healthEvents.map((e) => e.message.split(' ').slice(1, 4).join(' ')),
    ['is healthy', 'is now unhealthy', 'is now healthy'],
    'each transition is recorded exactly once',
  );
});

test('forwarded headers: XFF appended, proto/host/real-ip set, hop-by-hop stripped, request id passed', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const reply = await rawRequest(velo.engine.address.port, 'GET', '/echo', {
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '6.6.6.6',
      connection: 'keep-alive, x-secret',
      'x-secret': 'drop me',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic Zm9v',
      'x-request-id': 'req-abc',
      'x-custom': 'kept',
  });
  const echoed = JSON.parse(reply.body) as { headers: Record<string, string | undefined> };
  t.is(echoed.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  t.is(echoed.headers['x-real-ip'], '127.0.0.1', 'an untrusted client cannot set its own X-Real-IP');
  t.is(echoed.headers['x-forwarded-proto'], 'http');
  t.is(echoed.headers['x-forwarded-host'], `127.0.0.1:${velo.engine.address.port}`);
  t.is(echoed.headers['x-request-id'], 'req-abc');
  t.is(echoed.headers['x-custom'], 'kept');
  t.is(echoed.headers['x-secret'], undefined);
  t.is(echoed.headers['keep-alive'], undefined);
  t.is(echoed.headers['proxy-authorization'], undefined);
});

test('response hop-by-hop headers are stripped, others pass through with the backend status', async (t) => {
  const origin = http.createServer((_req, res) => {
    res.writeHead(418, { 'x-origin': 'yes', 'keep-alive': 'timeout=1', connection: 'keep-alive, x-private', 'x-private': 'no' });
    res.end('teapot');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => origin.close(() => r())));
  const port = (origin.address() as net.AddressInfo).port;
  const velo = await startVelo(t, NO_HEALTH, [`http://127.0.0.1:${port}`]);
  const reply = await get(client(t), velo.url);
  t.is(reply.status, 418);
  t.is(reply.body, 'teapot');
  t.is(reply.headers['x-origin'], 'yes');
  t.is(reply.headers['x-private'], undefined);
  t.not(reply.headers['keep-alive'], 'timeout=1');
});

test('the path and query string reach the backend byte for byte', async (t) => {
  const seen: string[] = [];
  const origin = http.createServer((req, res) => {
    seen.push(req.url!);
    res.end('ok');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => origin.close(() => r())));
  const velo = await startVelo(t, NO_HEALTH, [`http://127.0.0.1:${(origin.address() as net.AddressInfo).port}`]);
  const raw = '/a%2Fb/../c//d?x=1&x=2&y=%zz&empty=&utf=%E2%9C%93&plus=a+b;semi';
  await rawRequest(velo.engine.address.port, 'GET', raw, {});
  t.deepEqual(seen, [raw]);
});

/** A request through node:http, which (unlike undici) lets a test send any header. */
async function rawRequest(port: number, method: string, path: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('request bodies are forwarded whole, streamed, of any size', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const agent = client(t);
  const big = 'x'.repeat(3 * 1024 * 1024);
  const reply = await get(agent, `${velo.url}/echo`, { method: 'POST', body: big });
  t.is(reply.status, 200);
  t.is((JSON.parse(reply.body) as { body: string }).body.length, big.length);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 5; i++) yield Buffer.from(`part${i};`);
  }
  const chunked = await get(agent, `${velo.url}/echo`, { method: 'PUT', body: chunks() as unknown as Readable });
  t.is((JSON.parse(chunked.body) as { body: string }).body, 'part0;part1;part2;part3;part4;');
});

test('an SSE stream arrives chunk by chunk, not buffered', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  // 400 ms apart: a loaded machine may stall a few hundred ms, which must not merge the events.
  const res = await request(`${velo.url}/stream?chunks=4&interval=400`, { dispatcher: client(t) });
  t.is(res.headers['content-type'], 'text/event-stream');
  const arrivals: number[] = [];
  const started = Date.now();
  let text = '';
  for await (const chunk of res.body) {
    arrivals.push(Date.now() - started);
    text += chunk.toString();
  }
  t.is(text, 'data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n');
  t.true(arrivals.length >= 3, `expected separate chunks, got ${arrivals.length}`);
  t.true(arrivals[0]! < 800, `first event after ${arrivals[0]}ms; it must not wait for the end (~1200ms)`);
});

test('WebSocket upgrades are tunnelled to a backend', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const socket = net.connect(velo.engine.address.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  const key = Buffer.from('0123456789abcdef').toString('base64');
  socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let received = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  await eventually(() => received.includes('\r\n\r\n'), 3000, 'handshake');
  t.regex(received.toString('latin1'), /^HTTP\/1\.1 101/);
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 1, 'an open tunnel counts as in flight');
  const headerEnd = received.indexOf('\r\n\r\n') + 4;
  received = received.subarray(headerEnd);
  const payload = Buffer.from('hello velo');
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  await eventually(() => received.length >= 2 + payload.length, 3000, 'echo frame');
  t.is(received.subarray(2, 2 + payload.length).toString(), 'hello velo');
  // A close frame: the backend answers it and ends its side, velo passes the FIN on both ways.
  socket.write(Buffer.concat([Buffer.from([0x88, 0x80]), mask]));
  socket.on('end', () => socket.end());
  await eventually(() => velo.engine.pools[0]!.upstreams[0]!.inFlight === 0, 3000, 'tunnel released');
});

test('a backend that dies mid-response ends the client response instead of hanging', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const started = Date.now();
  const outcome = await request(`${velo.url}/drop`, { dispatcher: client(t) })
    .then((res) => res.body.text())
    .then(
      () => 'completed',
      (err: Error) => `error: ${err.message}`,
    );
  t.regex(outcome, /^error/);
  t.true(Date.now() - started < 3000);
  await eventually(() => velo.engine.totals.inFlight === 0, 2000, 'request released');
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 0);
});

test('404 JSON with a request id when no pool matches', async (t) => {
  const [b] = await startBackends(t, 1);
  const yaml = `pools:\n  - name: api\n    match: { host: api.example.com }\n    ${NO_HEALTH}    backends: [${b!.url}]\n`;
  const velo = await startVelo(t, yaml);
  const agent = client(t);
  const miss = await get(agent, velo.url, { headers: { host: 'other.example.com' } });
  t.is(miss.status, 404);
  const body = JSON.parse(miss.body) as { error: string; request_id: string };
  t.truthy(body.error);
  t.is(body.request_id, miss.headers['x-request-id'] as string);
  const hit = await get(agent, velo.url, { headers: { host: 'API.example.com:8080' } });
  t.is(hit.status, 200);
});

test('pools are chosen by host and the longest path prefix', async (t) => {
  const [root, api, v2, other] = await startBackends(t, 4);
  const yaml = `pools:
  - name: root
    ${NO_HEALTH}    backends: [${root!.url}]
  - name: api
    match: { path_prefix: /api }
    ${NO_HEALTH}    backends: [${api!.url}]
  - name: v2
    match: { path_prefix: /api/v2 }
    ${NO_HEALTH}    backends: [${v2!.url}]
  - name: other
    match: { host: other.test }
    ${NO_HEALTH}    backends: [${other!.url}]
`;
  const velo = await startVelo(t, yaml);
  const agent = client(t);
  const via = async (path: string, host = 'x.test'): Promise<string> => (await get(agent, velo.url + path, { headers: { host } })).body.trim();
  t.is(await via('/'), 'b0');
  t.is(await via('/api/users'), 'b1');
  t.is(await via('/api/v2/users'), 'b2');
  t.is(await via('/api/v2', 'other.test:9999'), 'b3');
});

test('503 with Retry-After when every backend is unhealthy', async (t) => {
  const backends = await startBackends(t, 2);
  for (const b of backends) b.setHealthy(false);
  const velo = await startVelo(t, 'health_check: { interval: 1s, timeout: 200ms }\n', backends.map((b) => b.url));
  await eventually(() => velo.engine.pools[0]!.upstreams.every((u) => u.health.state === 'unhealthy'), 3000, 'unhealthy');
  const reply = await get(client(t), velo.url);
  t.is(reply.status, 503);
  t.is(reply.headers['retry-after'], '1');
  t.is(reply.headers['content-type'], 'application/json');
  t.is(backends[0]!.requests + backends[1]!.requests, 0, 'no request reached an unhealthy backend');
});

test('502 when every backend refuses; each is tried once', async (t) => {
  const urls = [refusingUrl(1), refusingUrl(2)];
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 5, backoff_base: 1ms, backoff_cap: 2ms }\n`, urls);
  const reply = await get(client(t), velo.url);
  t.is(reply.status, 502);
  t.is((JSON.parse(reply.body) as { error: string }).error, 'upstream connect failed');
  t.deepEqual(
    velo.engine.pools[0]!.upstreams.map((u) => u.counters.failures),
    [1, 1],
    'each dead backend tried exactly once',
  );
});

test('a dead backend costs a retry, not an error: every GET succeeds', async (t) => {
  const backends = await startBackends(t, 2);
  const urls = [backends[0]!.url, refusingUrl(), backends[1]!.url];
  const velo = await startVelo(t, NO_HEALTH, urls);
  const agent = client(t);
  const replies = await Promise.all(Array.from({ length: 60 }, () => get(agent, velo.url)));
  t.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
  t.is(velo.engine.totals.failed, 0);
  t.true(velo.engine.totals.retries > 0);
});

test('504 when the backend does not answer within timeouts.response', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { response: 200ms }\nretry: { attempts: 0 }\n`, [b!.url]);
  const started = Date.now();
  const reply = await get(client(t), `${velo.url}/delay/2000`);
  t.is(reply.status, 504);
  t.true(Date.now() - started < 1500);
});

test('least-connections in-flight counts rise and fall with requests and return to zero after client aborts', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startVelo(t, `strategy: least-connections\n${NO_HEALTH}`, backends.map((b) => b.url));
  const ups = velo.engine.pools[0]!.upstreams;
  const agent = client(t);
  const slow = Array.from({ length: 4 }, () => get(agent, `${velo.url}/delay/300`));
  await eventually(() => ups[0]!.inFlight + ups[1]!.inFlight === 4, 2000, 'four in flight');
  t.deepEqual(ups.map((u) => u.inFlight), [2, 2]);
  await Promise.all(slow);
  t.deepEqual(ups.map((u) => u.inFlight), [0, 0]);
  const aborters = Array.from({ length: 6 }, () => new AbortController());
  const aborted = aborters.map((c) => get(agent, `${velo.url}/delay/5000`, { signal: c.signal }).catch(() => 'aborted'));
  await eventually(() => ups[0]!.inFlight + ups[1]!.inFlight === 6, 2000, 'six in flight');
  for (const c of aborters) c.abort();
  await Promise.all(aborted);
  await eventually(() => ups.every((u) => u.inFlight === 0) && velo.engine.totals.inFlight === 0, 3000, 'zero in flight');
  t.deepEqual(ups.map((u) => u.counters.failures), [0, 0], 'a client abort is not a backend failure');
  t.deepEqual(ups.map((u) => u.breaker.failures), [0, 0]);
});

test('ip-hash uses the socket address; X-Forwarded-For only from a trusted proxy', async (t) => {
  const backends = await startBackends(t, 5);
  const urls = backends.map((b) => b.url);
  const untrusted = await startVelo(t, `strategy: ip-hash\n${NO_HEALTH}`, urls);
  const agent = client(t);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    seen.add((await get(agent, untrusted.url, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).body);
  }
  t.is(seen.size, 1, 'a client cannot steer ip-hash by sending X-Forwarded-For');
  const trusted = await startVelo(t, `strategy: ip-hash\ntrust_proxy: [127.0.0.1]\n${NO_HEALTH}`, urls);
  const spread = new Set<string>();
  const sticky = new Map<string, string>();
  for (let i = 0; i < 40; i++) {
    const ip = `198.51.100.${i}`;
    const name = (await get(agent, trusted.url, { headers: { 'x-forwarded-for': ip } })).body;
    spread.add(name);
    sticky.set(ip, name);
  }
  t.true(spread.size >= 4, `trusted XFF spreads clients over backends, saw ${spread.size}`);
  for (const [ip, name] of sticky) {
    t.is((await get(agent, trusted.url, { headers: { 'x-forwarded-for': ip } })).body, name);
  }
});

test('no request can crash the process: garbage, absolute-form and aborted uploads', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  const port = velo.engine.address.port;
  const raw = async (payload: string): Promise<string> =>
    await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(payload));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
  t.regex(await raw('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
  // Absolute-form is legal (RFC 9112 section 3.2.2); other schemes and forms are not requests velo serves.
  // Sent without a FIN: a FIN before the answer is the client leaving (as in Node and nginx).
  t.regex(await exchange(port, 'GET http://any.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200/);
  t.regex(await raw('GET ftp://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400/);
  t.regex(await raw('GET http://user@evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400/);
  const partial = net.connect(port, '127.0.0.1');
  partial.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial');
  await new Promise((r) => setTimeout(r, 50));
  partial.destroy();
  await eventually(() => velo.engine.totals.inFlight === 0, 3000, 'aborted upload released');
  t.is((await get(client(t), velo.url)).status, 200, 'still serving');
});

test('listen.tls serves HTTPS and tells the backend X-Forwarded-Proto: https', async (t) => {
  const [b] = await startBackends(t, 1);
  const cert = new URL('../../fixtures/tls/cert.pem', import.meta.url).pathname;
  const key = new URL('../../fixtures/tls/key.pem', import.meta.url).pathname;
  const velo = await startVelo(t, `listen: { tls: { cert: ${cert}, key: ${key} } }\n${NO_HEALTH}`, [b!.url]);
  const { Agent } = await import('undici');
  const agent = new Agent({ connect: { ca: (await import('node:fs')).readFileSync(cert) } });
  t.teardown(() => agent.close());
  const reply = await get(agent, `https://localhost:${velo.engine.address.port}/echo`);
  t.is(reply.status, 200);
  t.is((JSON.parse(reply.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
});

test('ip_filter: a denied peer gets 403 JSON and never reaches a backend', async (t) => {
  const [b] = await startBackends(t, 1);
  const agent = client(t);
  const denied = await startVelo(t, `ip_filter: { deny: [127.0.0.0/8] }\n${NO_HEALTH}`, [b!.url]);
  const reply = await get(agent, denied.url);
  t.is(reply.status, 403);
  t.is((JSON.parse(reply.body) as { error: string }).error, 'forbidden');
  t.is(b!.requests, 0);
  const allowed = await startVelo(t, `ip_filter: { allow: [10.0.0.0/8, 127.0.0.1] }\n${NO_HEALTH}`, [b!.url]);
  t.is((await get(agent, allowed.url)).status, 200);
  const notListed = await startVelo(t, `ip_filter: { allow: [10.0.0.0/8] }\n${NO_HEALTH}`, [b!.url]);
  t.is((await get(agent, notListed.url)).status, 403);
});

test('a backend response Node cannot relay becomes a 502, and velo keeps serving', async (t) => {
  const broken = net.createServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\nok'));
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => broken.close(() => r())));
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\n`, [`http://127.0.0.1:${(broken.address() as net.AddressInfo).port}`]);
  const reply = await rawRequest(velo.engine.address.port, 'GET', '/', {});
  t.is(reply.status, 502);
  await eventually(() => velo.engine.totals.inFlight === 0, 2000, 'released');
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 0);
});
