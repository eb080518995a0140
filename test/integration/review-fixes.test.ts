/** Defects found in review, each reproduced on real sockets. */
import test from 'ava';
import net from 'node:net';
import http from 'node:http';
import { exchange } from './raw-peers.js';
import { client, eventually, get, refusingUrl, startBackends, startVelo } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

async function raw(port: number, payload: string, keepOpen = false): Promise<string> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (keepOpen ? s.write(payload) : s.end(payload)));
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (keepOpen && out.includes('\r\n\r\n')) resolve(out);
    });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

async function listen(t: { teardown: (fn: () => unknown) => void }, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('two Host headers get 400 and open no breaker (they used to count as backend failures)', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startVelo(t, `${NO_HEALTH}circuit_breaker: { failure_threshold: 1 }\n`, backends.map((b) => b.url));
  for (let i = 0; i < 3; i++) {
    t.regex(await raw(velo.engine.address.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400/);
  }
  t.deepEqual(velo.engine.pools[0]!.upstreams.map((u) => [u.breaker.state, u.counters.failures]), [['closed', 0], ['closed', 0]]);
  t.is((await get(client(t), velo.url)).status, 200);
});

test('a client that stops reading is dropped after timeouts.idle and frees its backend slot', async (t) => {
  const big = Buffer.alloc(1024 * 1024, 120);
  const origin = await listen(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(big.length * 64) });
    let i = 0;
    const pump = (): void => {
      while (i < 64 && res.write(big)) i += 1;
      if (i < 64) res.once('drain', pump);
      else res.end();
    };
    pump();
  });
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { idle: 500ms }\n`, [origin]);
  const socket = net.connect(velo.engine.address.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.pause();
  const u = velo.engine.pools[0]!.upstreams[0]!;
  await eventually(() => u.inFlight === 1, 3000, 'in flight');
  await eventually(() => u.inFlight === 0 && velo.engine.totals.inFlight === 0, 5000, 'slot freed');
  t.is(u.counters.failures, 0, 'the client, not the backend, was at fault');
});

test('retry.on_status with no other backend to try relays the backend status instead of a 502', async (t) => {
  const origin = await listen(t, (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('backend says busy');
  });
  const velo = await startVelo(t, `${NO_HEALTH}retry: { on_status: [503] }\ncircuit_breaker: { enabled: false }\n`, [origin]);
  const reply = await get(client(t), velo.url);
  t.is(reply.status, 503);
  t.is(reply.body, 'backend says busy');
  t.is(velo.engine.totals.retries, 0);
});

test('no retry is counted, and no backoff waited, when no untried backend is left', async (t) => {
  const velo = await startVelo(t, `${NO_HEALTH}circuit_breaker: { enabled: false }\nretry: { backoff_base: 1s, backoff_cap: 1s }\n`, [refusingUrl()]);
  const started = Date.now();
  for (let i = 0; i < 5; i++) t.is((await get(client(t), velo.url)).status, 502);
  t.is(velo.engine.totals.retries, 0);
  t.true(Date.now() - started < 2000, 'no 1 s backoff before giving up');
});

test('a backend status line Node cannot relay becomes a 502 with a body, not an empty reply', async (t) => {
  const broken = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nok')));
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => broken.close(() => r())));
  const velo = await startVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\n`, [`http://127.0.0.1:${(broken.address() as net.AddressInfo).port}`]);
  const reply = await new Promise<{ status: number; message: string; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: velo.engine.address.port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, message: res.statusMessage!, body }));
      })
      .on('error', reject);
  });
  t.is(reply.status, 502);
  t.is(reply.message, 'Bad Gateway');
  t.regex(reply.body, /"error":"(invalid response from upstream|upstream connection reset)"/);
});

test('a trusted proxy keeps its X-Forwarded-Proto and X-Forwarded-Host; an untrusted client does not', async (t) => {
  const [b] = await startBackends(t, 1);
  const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' };
  const trusted = await startVelo(t, `trust_proxy: [127.0.0.1]\n${NO_HEALTH}`, [b!.url]);
  const seen = JSON.parse((await get(client(t), `${trusted.url}/echo`, { headers })).body) as { headers: Record<string, string> };
  t.is(seen.headers['x-forwarded-proto'], 'https');
  t.is(seen.headers['x-forwarded-host'], 'shop.example');
  const untrusted = await startVelo(t, NO_HEALTH, [b!.url]);
  const direct = JSON.parse((await get(client(t), `${untrusted.url}/echo`, { headers })).body) as { headers: Record<string, string> };
  t.is(direct.headers['x-forwarded-proto'], 'http');
  t.is(direct.headers['x-forwarded-host'], `127.0.0.1:${untrusted.engine.address.port}`);
});

test('upgrades obey ip_filter, and a non-WebSocket upgrade is served as plain HTTP', async (t) => {
  const [b] = await startBackends(t, 1);
  const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const denied = await startVelo(t, `ip_filter: { deny: [127.0.0.1] }\n${NO_HEALTH}`, [b!.url]);
  t.regex(await raw(denied.engine.address.port, upgrade), /^HTTP\/1\.1 403/);
  const open = await startVelo(t, NO_HEALTH, [b!.url]);
  // Sent without a FIN: like nginx and Node, velo takes a FIN before its answer as the client leaving.
  t.regex(await exchange(open.engine.address.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nb0\n$/);
});

test('a rejected upgrade whose client never closes does not hold up shutdown', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `pools:\n  - name: only\n    match: { host: only.test }\n    ${NO_HEALTH}    backends: [${b!.url}]\nshutdown_timeout: 500ms\n`);
  const reply = await raw(velo.engine.address.port, 'GET /ws HTTP/1.1\r\nHost: other.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', true);
  t.regex(reply, /^HTTP\/1\.1 404/);
  const started = Date.now();
  await velo.engine.stop();
  t.true(Date.now() - started < 2000, `stopped in ${Date.now() - started}ms`);
});

test('turning health checks on and off by reload starts and stops them', async (t) => {
  const backends = await startBackends(t, 2);
  backends[1]!.setHealthy(false);
  const urls = backends.map((b) => b.url);
  const velo = await startVelo(t, NO_HEALTH, urls);
  const { parseConfigText } = await import('../../src/config/load.js');
  const reconfigure = (yaml: string): void => {
    velo.control.applyConfig(parseConfigText(yaml, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0, backends: urls } }));
  };
  const u1 = velo.engine.pools[0]!.upstreams[1]!;
  t.is(velo.engine.health.watching, 0);
  reconfigure('health_check: { interval: 50ms, timeout: 200ms }\n');
  t.is(velo.engine.health.watching, 2);
  await eventually(() => u1.health.state === 'unhealthy', 3000, 'checked and found unhealthy');
  reconfigure(NO_HEALTH);
  t.is(velo.engine.health.watching, 0);
  t.is(u1.health.state, 'healthy', 'without checks nothing holds it out of rotation');
});

test('a WebSocket tunnel to a removed backend is closed once shutdown_timeout has passed', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}shutdown_timeout: 300ms\n`, [b!.url]);
  const socket = net.connect(velo.engine.address.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let reply = '';
  socket.on('data', (d) => (reply += d));
  await eventually(() => reply.startsWith('HTTP/1.1 101'), 3000, 'tunnel open');
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const started = Date.now();
  velo.control.removeBackend('default', b!.url);
  await closed;
  const elapsed = Date.now() - started;
  t.true(elapsed >= 250 && elapsed < 2000, `closed after ${elapsed}ms`);
});
