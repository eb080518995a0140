/**
 * RFC 9112's "MUST answer 400" cases on a raw socket: each gets exactly `HTTP/1.1 400 Bad
 * Request`, never reaches a backend, and never gets an empty reply. Cases llhttp refuses itself
 * are listed too, so a Node upgrade that stops refusing them is noticed.
 */
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import type { TestBackend } from '../../src/backend/test-backend.js';
import { startBackends, startVelo } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

/** Sends `payload`, half-closes, and resolves to everything velo sent before it closed (2 s at most). */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(payload));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    setTimeout(() => socket.destroy(), 2000).unref();
  });
}

const statusLine = (reply: string): string => reply.split('\r\n', 1)[0]!;

async function startOne(t: ExecutionContext): Promise<{ backend: TestBackend; port: number }> {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, NO_HEALTH, [b!.url]);
  return { backend: b!, port: velo.engine.address.port };
}

test('a request line without an HTTP version (HTTP/0.9) gets exactly "HTTP/1.1 400 Bad Request"', async (t) => {
  const { backend, port } = await startOne(t);
  const reply = await exchange(port, 'GET /\r\n\r\n');
  t.is(statusLine(reply), 'HTTP/1.1 400 Bad Request', JSON.stringify(reply));
  t.regex(reply, /"error":"the request line has no HTTP version/);
  t.is(backend.requests, 0, 'never reaches a backend');
});

test('Host: a space, two lines or none is a 400; host:port, an IPv6 literal or empty passes (RFC 9112 §3.2)', async (t) => {
  const { backend, port } = await startOne(t);
  for (const [what, payload] of [
    ['a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['two lines', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['a comma list', 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n'],
    ['none (refused by llhttp)', 'GET / HTTP/1.1\r\n\r\n'],
  ]) {
    t.is(statusLine(await exchange(port, payload!)), 'HTTP/1.1 400 Bad Request', what);
  }
  t.is(backend.requests, 0, 'none reaches a backend');
  for (const host of ['example.com:8080', '[::1]:80', '', 'a-b_c.example', '127.0.0.1']) {
    const reply = await exchange(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    t.is(statusLine(reply), 'HTTP/1.1 200 OK', `Host: ${host}`);
  }
});

test('Transfer-Encoding other than exactly "chunked" is a 400 and the connection is closed (RFC 9112 §6.1, §11.2)', async (t) => {
  const { backend, port } = await startOne(t);
  for (const [what, payload] of [
    ['identity, chunked', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['gzip then chunked on two lines', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['chunked, identity (refused by llhttp)', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n'],
  ]) {
    const reply = await exchange(port, payload!);
    t.is(statusLine(reply), 'HTTP/1.1 400 Bad Request', what);
    t.is(reply.match(/HTTP\/1\.1 /g)?.length, 1, `${what}: one answer, then the connection closes`);
  }
  t.is(backend.requests, 0, 'none reaches a backend');
  const chunked = await exchange(port, 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  t.is(statusLine(chunked), 'HTTP/1.1 200 OK', 'chunked alone, in any case, is forwarded');
});
