/**
 * The admin API's guards: bearer tokens (config or env, constant-time checked), loopback-only
 * without a token, the 64 KiB body limit (413), and inputs that must never crash it.
 */
import test from 'ava';
import net from 'node:net';
import { startAdminServer } from '../../src/admin/server.js';
import { startBackends } from '../integration/harness.js';
import { apiClient, NO_HEALTH, poolState, startAdminVelo } from './admin-harness.js';

/** Writes `chunks` to a raw connection and resolves to everything the server sent back before it closed or `timeoutMs` passed. */
function raw(port: number, chunks: Array<string | Buffer>, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('error', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('connect', () => {
      for (const c of chunks) if (!socket.destroyed) socket.write(c);
    });
    setTimeout(() => socket.destroy(), timeoutMs).unref();
  });
}

test('with a token, a missing, malformed or wrong one is a 401 with WWW-Authenticate; the right one passes', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url), { token: 's3cret' });
  for (const [headers, reason] of [
    [{}, 'missing'],
    [{ authorization: 'Basic czNjcmV0' }, 'malformed'],
    [{ authorization: 'Bearer s3cre' }, 'wrong'],
    [{ authorization: 'Bearer s3cret-and-more' }, 'wrong'],
  ] as const) {
    for (const path of ['/api/health', '/metrics', '/api/nope']) {
      const r = await velo.api('GET', path, { headers });
      t.is(r.status, 401, `${path} ${reason}`);
      t.is(r.json.reason, reason);
      t.true(typeof r.json.error === 'string' && r.json.error.length > 0);
      t.regex(String(r.headers['www-authenticate']), /^Bearer/);
    }
  }
  const before = poolState(velo);
  const denied = await velo.api('POST', '/api/pools/default/backends/b0/drain', { token: 'nope' });
  t.is(denied.status, 401);
  t.is(poolState(velo), before, 'a refused change changes nothing');
  t.is((await velo.api('GET', '/api/health', { token: 's3cret' })).status, 200);
  t.is((await velo.api('GET', '/metrics', { headers: { authorization: 'bearer s3cret' } })).status, 200, 'the scheme is case-insensitive');
});

test('VELO_ADMIN_TOKEN in the environment also requires a token', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url), { env: { VELO_ADMIN_TOKEN: 'from-env' } });
  t.is((await velo.api('GET', '/api/pools')).status, 401);
  t.is((await velo.api('GET', '/api/pools', { token: 'from-env' })).status, 200);
});

test('the admin API refuses to listen off loopback without a token', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const err = await t.throwsAsync(startAdminServer(velo.engine, velo.control, { enabled: true, host: '0.0.0.0', port: 0 }, { env: {} }));
  t.regex(err!.message, /without a token/);
  const withToken = await startAdminServer(velo.engine, velo.control, { enabled: true, host: '0.0.0.0', port: 0, token: 't' }, { env: {} });
  t.teardown(() => withToken.close());
  const api = apiClient(t, `http://127.0.0.1:${withToken.address.port}`);
  t.is((await api('GET', '/api/health')).status, 401);
  t.is((await api('GET', '/api/health', { token: 't' })).status, 200);
});

test('a body over 64 KiB is a 413, by Content-Length or while streaming, and changes nothing', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const before = poolState(velo);
  const big = JSON.stringify({ url: 'http://127.0.0.1:1', name: 'x'.repeat(70 * 1024) });
  const r = await velo.api('POST', '/api/pools/default/backends', { body: big });
  t.is(r.status, 413);
  t.regex(r.json.error, /larger than 65536 bytes/);
  const port = velo.admin.address.port;
  const declared = await raw(port, ['PUT /api/pools/default/strategy HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n{"strategy":']);
  t.regex(declared, /^HTTP\/1\.1 413 /);
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  const streamed = await raw(port, [
    'POST /api/pools/default/backends HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    ...Array.from({ length: 6 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])),
  ]);
  t.regex(streamed, /^HTTP\/1\.1 413 /);
  t.regex(streamed, /connection: close/i);
  t.is(poolState(velo), before);
  t.is((await velo.api('GET', '/api/health')).status, 200, 'still serving');
});

test('garbage on the wire never takes the admin server down', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const port = velo.admin.address.port;
  t.regex(await raw(port, ['\x00\x01\x02 not http at all\r\n\r\n']), /^HTTP\/1\.1 400/);
  t.regex(await raw(port, [`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`]), /^HTTP\/1\.1 (400|431|414)/);
  t.is(await raw(port, ['POST /api/pools/default/backends HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"url":'], 100), '', 'a body cut short gets no answer');
  t.regex(await raw(port, ['GET /api/pools/%ZZ HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n']), /^HTTP\/1\.1 400/);
  t.regex(await raw(port, ['BREW /api/health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n']), /^HTTP\/1\.1 (400|405)/);
  const weird = await velo.api('POST', '/api/pools/default/backends', { body: '{"url": "http://[::1", "weight": 1e309}' });
  t.is(weird.status, 400);
  t.is((await velo.api('GET', '/api/health')).status, 200);
});
