/**
 * The `grpc` probe against real @grpc/grpc-js servers: TLS with the pool's settings, velo's
 * resolver, the timeout, and no descriptor left behind per check. Serial: some tests count
 * this process's descriptors.
 */
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, grpcProbe } from '../../src/health/grpc-check.js';
import type { ConnectLookup } from '../../src/discovery/dns-lookup.js';

const CERT = readFileSync(new URL('../../fixtures/tls/cert.pem', import.meta.url));
const KEY = readFileSync(new URL('../../fixtures/tls/key.pem', import.meta.url));

async function healthServer(t: ExecutionContext, tls = false): Promise<number> {
  const server = new grpc.Server();
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const creds = tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: CERT, private_key: KEY }]) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err !== null ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return port;
}

function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settle(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

test.serial('each check closes its connection: no descriptor is left behind after many checks', async (t) => {
  const port = await healthServer(t);
  const target = { url: new URL(`http://127.0.0.1:${port}`) };
  t.true((await grpcProbe(target, { timeoutMs: 2000 })).ok, 'warm-up: grpc-js loaded');
  const before = fds();
  for (let i = 0; i < 30; i++) t.true((await grpcProbe(target, { timeoutMs: 2000 })).ok);
  t.true(await settle(() => fds() <= before + 1, 3000), `descriptors: ${before} before, ${fds()} after 30 checks`);
});

test.serial('a server that accepts and never answers fails the check at its timeout, and the connection is closed', async (t) => {
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.resume(); // reads what the probe sends, so its FIN is seen
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of open) s.destroy();
    server.close();
  });
  const started = Date.now();
  const result = await grpcProbe({ url: new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`) }, { timeoutMs: 300 });
  const took = Date.now() - started;
  t.false(result.ok);
  t.is(result.detail, 'timeout after 300ms');
  t.true(took >= 290 && took < 2000, `failed after ${took} ms`);
  t.true(await settle(() => open.size === 0, 3000), 'the probe closed its connection');
});

test('TLS: the pool CA verifies the backend; without it the check fails; verify false accepts it', async (t) => {
  const port = await healthServer(t, true);
  const url = new URL(`https://127.0.0.1:${port}`);
  t.deepEqual((await grpcProbe({ url, tls: { ca: CERT, rejectUnauthorized: true } }, { timeoutMs: 2000 })).ok, true);
  const named = await grpcProbe({ url, tls: { ca: CERT, servername: 'localhost', rejectUnauthorized: true } }, { timeoutMs: 2000 });
  t.true(named.ok, named.detail);
  const untrusted = await grpcProbe({ url, tls: { rejectUnauthorized: true } }, { timeoutMs: 2000 });
  t.false(untrusted.ok);
  t.regex(untrusted.detail ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY/);
  const wrongName = await grpcProbe({ url, tls: { ca: CERT, servername: 'elsewhere.test', rejectUnauthorized: true } }, { timeoutMs: 2000 });
  t.false(wrongName.ok, 'the certificate is checked against tls.servername');
  t.true((await grpcProbe({ url, tls: { rejectUnauthorized: false } }, { timeoutMs: 2000 })).ok);
});

test("a DNS single-mode name is dialled at the address velo's resolver gives", async (t) => {
  const port = await healthServer(t);
  const asked: string[] = [];
  const lookup: ConnectLookup = (hostname, options, callback) => {
    asked.push(hostname);
    if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  const result = await grpcProbe({ url: new URL(`http://grpc.internal:${port}`), lookup }, { timeoutMs: 2000 });
  t.true(result.ok, result.detail);
  t.deepEqual(asked, ['grpc.internal']);
});

test('the health messages: HealthCheckRequest framed with its 5-byte prefix, HealthCheckResponse read', (t) => {
  t.deepEqual([...encodeHealthCheckRequest('')], [0, 0, 0, 0, 0], 'the whole server: an empty message');
  t.deepEqual([...encodeHealthCheckRequest('a.B')], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]);
  const long = encodeHealthCheckRequest('s'.repeat(200));
  t.deepEqual([...long.subarray(0, 8)], [0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01], 'a two-byte varint length');
  const frame = (bytes: number[]): Buffer => Buffer.from([0, 0, 0, 0, bytes.length, ...bytes]);
  t.deepEqual(decodeHealthCheckResponse(frame([0x08, 1])), { status: 'SERVING' });
  t.deepEqual(decodeHealthCheckResponse(frame([0x08, 2])), { status: 'NOT_SERVING' });
  t.deepEqual(decodeHealthCheckResponse(frame([])), { status: 'UNKNOWN' }, 'proto3: an absent field is its default');
  t.deepEqual(decodeHealthCheckResponse(frame([0x12, 2, 0x61, 0x62, 0x08, 3])), { status: 'SERVICE_UNKNOWN' }, 'unknown fields are skipped');
  t.deepEqual(decodeHealthCheckResponse(Buffer.alloc(0)), { problem: 'no response message' });
  t.deepEqual(decodeHealthCheckResponse(Buffer.from([1, 0, 0, 0, 0])), { problem: 'a compressed response message' });
  t.deepEqual(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 9, 0x08])), { problem: 'a truncated response message' });
  t.deepEqual(decodeHealthCheckResponse(frame([0x08, 0x80])), { problem: 'a malformed response message' });
});

test('an HTTP/2 server that is not gRPC fails the check: no grpc-status, or an HTTP error status', async (t) => {
  const http2 = await import('node:http2');
  const server = http2.createServer((req, res) => {
    res.writeHead(req.url === '/grpc.health.v1.Health/Check' && req.headers['content-type'] === 'application/grpc' ? 200 : 500);
    res.end('\0\0\0\0\x02\x08\x01');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  t.deepEqual(await grpcProbe({ url }, { timeoutMs: 2000 }).then((r) => [r.ok, r.detail]), [false, 'no grpc-status: not a gRPC answer']);
  const server500 = http2.createServer((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  await new Promise<void>((r) => server500.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server500.close(() => r())));
  const url500 = new URL(`http://127.0.0.1:${(server500.address() as net.AddressInfo).port}`);
  t.deepEqual(await grpcProbe({ url: url500 }, { timeoutMs: 2000 }).then((r) => [r.ok, r.detail]), [false, 'HTTP status 503']);
});
