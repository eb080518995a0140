/**
 * `redirects:` on real sockets: velo answers 301/308 itself with the exact Location, counts and
 * logs it like its other answers, never reaches a backend, spends no rate-limit token, and does
 * not redirect what a trusted TLS terminator already received over https.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { client, get, startVelo } from './harness.js';

async function countingBackend(t: import('ava').ExecutionContext): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end('from backend'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, hits };
}

/** One request written by hand, so the request-target and Host go out exactly as given. */
async function raw(port: number, head: string): Promise<string> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(head));
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

test('https: GET gets 301 and POST 308 to the exact Location; a trusted X-Forwarded-Proto: https is forwarded', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `trust_proxy: [127.0.0.1]\nhealth_check: false\nbackends: [${backend.url}]\nredirects: { https: true, https_port: 8443 }\n`);
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const agent = client(t);
  const headers = { host: 'shop.example:8080' };

  const got = await get(agent, `${velo.url}/a/b?x=1&y=%20&z=a%2Fb`, { headers });
  t.is(got.status, 301);
  t.is(got.headers.location, 'https://shop.example:8443/a/b?x=1&y=%20&z=a%2Fb');
  t.deepEqual(JSON.parse(got.body), { location: 'https://shop.example:8443/a/b?x=1&y=%20&z=a%2Fb', request_id: got.headers['x-request-id'] });

  const posted = await get(agent, `${velo.url}/form?id=7`, { method: 'POST', headers, body: 'name=velo' });
  t.is(posted.status, 308);
  t.is(posted.headers.location, 'https://shop.example:8443/form?id=7');

  const head = await get(agent, `${velo.url}/h`, { method: 'HEAD', headers });
  t.is(head.status, 301);
  t.is(head.headers.location, 'https://shop.example:8443/h');
  t.is(head.body, '');

  const behindTls = await get(agent, `${velo.url}/a?b`, { headers: { ...headers, 'x-forwarded-proto': 'https' } });
  t.is(behindTls.status, 200);
  t.is(behindTls.body, 'from backend');

  t.deepEqual(backend.hits, ['GET /a?b']);
  t.deepEqual(records.map((r) => [r.status, r.termination, r.pool, r.backend, r.path]), [
    [301, '-', 'default', undefined, '/a/b?x=1&y=%20&z=a%2Fb'],
    [308, '-', 'default', undefined, '/form?id=7'],
    [301, '-', 'default', undefined, '/h'],
    [200, '-', 'default', backend.url, '/a?b'],
  ]);
  t.true(records[0]!.bytesOut > 0);
  t.is(records[2]!.bytesOut, 0, 'no body for HEAD');
  t.like(velo.engine.totals, { requests: 4, success: 4, failed: 0, rejected: 0 });
});

test('an untrusted X-Forwarded-Proto: https is still redirected; the raw request-target and an absolute-form authority build the Location; a WebSocket handshake is redirected too', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `health_check: false\nbackends: [${backend.url}]\nredirects: { https: true }\n`);
  const spoofed = await get(client(t), `${velo.url}/x`, { headers: { host: 'shop.example', 'x-forwarded-proto': 'https' } });
  t.is(spoofed.status, 301);
  t.is(spoofed.headers.location, 'https://shop.example/x');
  const port = velo.engine.address.port;
  const rawPath = await raw(port, 'GET //evil.example/%0d%0aSet-Cookie:x=1?q=%22 HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n');
  t.regex(rawPath, /^HTTP\/1\.1 301 Moved Permanently\r\n/);
  t.regex(rawPath, /\r\nlocation: https:\/\/shop\.example\/\/evil\.example\/%0d%0aSet-Cookie:x=1\?q=%22\r\n/i);
  t.notRegex(rawPath, /\r\nset-cookie/i);
  const absolute = await raw(port, 'GET http://Other.Example:81/p?q HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n');
  t.regex(absolute, /\r\nlocation: https:\/\/other\.example\/p\?q\r\n/i);
  const handshake = await raw(port, 'GET /ws?room=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  t.regex(handshake, /^HTTP\/1\.1 301 Moved Permanently\r\n/);
  t.regex(handshake, /\r\nlocation: https:\/\/shop\.example\/ws\?room=1\r\n/i);
  const badHost = await raw(port, 'GET /x HTTP/1.1\r\nHost: a%2fb.example\r\nConnection: close\r\n\r\n');
  t.regex(badHost, /^HTTP\/1\.1 400 /);
  t.deepEqual(backend.hits, []);
});

test('strip_www and canonical_host redirect on a plain listener keeping http and the port', async (t) => {
  const backend = await countingBackend(t);
  const yaml = `pools:
  - name: canon
    health_check: false
    backends: [${backend.url}]
    redirects: { canonical_host: Example.com }
  - name: www
    match: { path_prefix: /www }
    health_check: false
    backends: [${backend.url}]
    redirects: { strip_www: true }
`;
  const velo = await startVelo(t, yaml);
  const agent = client(t);
  const stripped = await get(agent, `${velo.url}/www/p?q=1`, { method: 'PUT', headers: { host: 'www.example.com:8080' }, body: 'x' });
  t.is(stripped.status, 308);
  t.is(stripped.headers.location, 'http://example.com:8080/www/p?q=1');
  t.is((await get(agent, `${velo.url}/www/p`, { headers: { host: 'example.com:8080' } })).status, 200);
  const canon = await get(agent, `${velo.url}/p`, { headers: { host: 'www.example.org' } });
  t.is(canon.status, 301);
  t.is(canon.headers.location, 'http://example.com/p');
  t.is((await get(agent, `${velo.url}/p`, { headers: { host: 'EXAMPLE.com' } })).status, 200);
  t.deepEqual(backend.hits, ['GET /www/p', 'GET /p']);
});

test('a redirect comes after ip_filter and before the rate limit: it spends no token', async (t) => {
  const backend = await countingBackend(t);
  const velo = await startVelo(t, `trust_proxy: true\nhealth_check: false\nbackends: [${backend.url}]\nredirects: { https: true }\nrate_limit: { rps: 0.001, burst: 1 }\n`);
  const agent = client(t);
  for (let i = 0; i < 3; i++) t.is((await get(agent, `${velo.url}/x`, { headers: { host: 'a.example' } })).status, 301);
  const https = { host: 'a.example', 'x-forwarded-proto': 'https' };
  t.is((await get(agent, `${velo.url}/x`, { headers: https })).status, 200, 'the one token is still there');
  t.is((await get(agent, `${velo.url}/x`, { headers: https })).status, 429);
  const denied = await startVelo(t, `ip_filter: { deny: [127.0.0.1] }\nhealth_check: false\nbackends: [${backend.url}]\nredirects: { https: true }\n`);
  t.is((await get(agent, `${denied.url}/x`, { headers: { host: 'a.example' } })).status, 403);
});

test('bad redirects settings are config errors with their line and column', (t) => {
  const yaml = `backends: [http://127.0.0.1:1]
redirects:
  https: false
  https_port: 70000
  canonical_host: "https://example.com/"
  strip_www: true
  www: true
`;
  const err = t.throws(() => parseConfigText(yaml, 'velo.yaml'), { instanceOf: ConfigError });
  const issues = (err as ConfigError).issues.map((i) => `${i.path}@${i.line}:${i.column}: ${i.message}`);
  t.deepEqual(issues, [
    'redirects.https_port@4:15: 70000 is out of range',
    'redirects.https_port@4:15: https_port needs https: true',
    'redirects.canonical_host@5:19: "https://example.com/" is not a host name',
    'redirects.strip_www@6:14: strip_www and canonical_host cannot both be set',
    'redirects.www@7:3: unknown key "www"',
  ]);
});
