/**
 * The admin API against web pages the operator happens to open (CSRF, DNS rebinding): JSON
 * bodies only (415), foreign Origin or cross-site fetch metadata refused (403), no CORS
 * preflight ever granted, a Host that is not this machine refused when there is no token,
 * and a 413 that reaches every client that sent too much.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { AdminClient } from '../../src/cli/admin-client.js';
import { startBackends } from '../integration/harness.js';
import { NO_HEALTH, poolState, startAdminVelo } from './admin-harness.js';

test('a body that is not declared application/json is a 415 and changes nothing; JSON (also from the CLI client) passes', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, [backends[0]!.url]);
  const before = poolState(velo);
  const body = JSON.stringify({ url: backends[1]!.url });
  for (const contentType of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
    const headers: Record<string, string> = contentType === undefined ? { 'content-type': '' } : { 'content-type': contentType };
    const r = await velo.api('POST', '/api/pools/default/backends', { body, headers });
    t.is(r.status, 415, String(contentType));
    t.regex(r.json?.error ?? '', /application\/json/);
  }
  const form = await velo.api('POST', `/api/pools/default/backends/${encodeURIComponent(backends[0]!.url)}/drain`, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(form.status, 415, 'an empty form post is refused too');
  t.is(poolState(velo), before);
  const ok = await velo.api('POST', '/api/pools/default/backends', { body, headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
  t.is(ok.status, 201);
  const cli = new AdminClient(new URL(velo.admin.url), undefined);
  t.teardown(() => cli.close());
  t.like(await cli.call('PUT', '/api/pools/default/strategy', { strategy: 'random' }), { strategy: 'random' });
  t.truthy(await cli.call('POST', `/api/pools/default/backends/${encodeURIComponent(backends[1]!.url)}/drain`));
});

test('a foreign Origin, Origin: null or Sec-Fetch-Site: cross-site is a 403 with a JSON reason, before any change', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const own = `http://127.0.0.1:${velo.admin.address.port}`;
  const drain = `/api/pools/default/backends/${encodeURIComponent(backends[0]!.url)}/drain`;
  const before = poolState(velo);
  const refusedHeaders: Array<Record<string, string>> = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    { origin: `http://localhost:${velo.admin.address.port + 1}` },
    { origin: `${own}.evil.example` },
    { 'sec-fetch-site': 'cross-site' },
    { origin: own, 'sec-fetch-site': 'cross-site' },
  ];
  for (const headers of refusedHeaders) {
    for (const [method, path] of [
      ['POST', drain],
      ['GET', '/api/pools'],
    ] as const) {
      const r = await velo.api(method, path, { headers });
      t.is(r.status, 403, `${method} ${JSON.stringify(headers)}`);
      t.regex(r.json?.error ?? '', /cross-origin|cross-site/);
      t.truthy(r.json?.reason);
      t.is(r.headers['access-control-allow-origin'], undefined);
    }
  }
  t.is(poolState(velo), before, 'a refused change changes nothing');
  t.is((await velo.api('POST', drain, { headers: { origin: own, 'sec-fetch-site': 'same-origin' } })).status, 200, 'its own origin passes');
});

test('OPTIONS preflights are never granted: 403 from a foreign origin, 405 otherwise, JSON and no Access-Control-* headers', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const preflight = { origin: 'http://evil.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' };
  const foreign = await velo.api('OPTIONS', '/api/pools/default/strategy', { headers: preflight });
  t.is(foreign.status, 403);
  t.truthy(foreign.json?.error);
  const plain = await velo.api('OPTIONS', '/api/pools/default/strategy');
  t.is(plain.status, 405);
  t.regex(plain.json?.error ?? '', /OPTIONS/);
  for (const r of [foreign, plain]) {
    t.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), []);
    t.regex(String(r.headers['content-type']), /^application\/json/);
  }
});

test('without a token, a Host that is not this machine is a 403 (DNS rebinding); with a token any Host may pass', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const port = velo.admin.address.port;
  const ask = (host: string, path = '/api/health'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
        .on('error', reject);
    });
  for (const host of [`rebind.evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`]) {
    const r = await ask(host);
    t.is(r.status, 403, `Host: ${host}`);
    t.regex(JSON.parse(r.body).error, /Host/);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, `app.localhost:${port}`]) {
    t.is((await ask(host)).status, 200, `Host: ${host}`);
  }
  const withToken = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url), { token: 'tok' });
  const r = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: withToken.admin.address.port, path: '/api/health', headers: { host: 'velo.internal.example', authorization: 'Bearer tok' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
  t.is(r, 200, 'a token already proves the caller is no web page');
});

/**
 * A client that sends its whole request before it reads the answer, as blocking clients do
 * (Python's http.client, many scripts): the answer waits in its kernel buffer meanwhile, where
 * a TCP reset destroys it. Resolves to the status line it reads, or the error it gets.
 */
function sendThenRead(port: number, head: string, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const finish = (result: string): void => {
      resolve(result);
      socket.destroy();
    };
    socket.on('error', (err: NodeJS.ErrnoException) => finish(out.length > 0 ? out.split('\r\n', 1)[0]! : (err.code ?? err.message)));
    socket.on('close', () => finish(out.split('\r\n', 1)[0]!));
    socket.pause();
    socket.on('connect', () => {
      socket.write(head);
      // Reads nothing until the body is sent (the write callback), like a blocking client.
      socket.write(body, () => {
        socket.on('data', (d) => (out += d.toString('latin1')));
        socket.resume();
      });
    });
    setTimeout(() => finish(out.split('\r\n', 1)[0] || 'no answer'), 20_000).unref();
  });
}

test('20 concurrent clients each sending an oversized body before reading all get the 413 answer, none a reset', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const before = poolState(velo);
  // More than the loopback socket buffers hold, so the sender blocks until velo reads.
  const body = Buffer.alloc(8 * 1024 * 1024, 0x20);
  const start = 'POST /api/pools/default/backends HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n';
  const declared = [`${start}content-length: ${body.length}\r\n\r\n`, body] as const;
  const chunked = [`${start}transfer-encoding: chunked\r\n\r\n`, Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])] as const;
  // Half announce their size (refused at once), half stream it (refused once 64 KiB have arrived).
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const [head, payload] = i % 2 === 0 ? declared : chunked;
      return sendThenRead(velo.admin.address.port, head, payload);
    }),
  );
  t.deepEqual(results, Array.from({ length: 20 }, () => 'HTTP/1.1 413 Payload Too Large'));
  t.is(poolState(velo), before);
  t.is((await velo.api('GET', '/api/health')).status, 200, 'still serving');
});
