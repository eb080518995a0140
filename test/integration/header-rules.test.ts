/** Header rewriting on real sockets: what the backend receives and what the client gets back. */
import test from 'ava';
import http from 'node:http';
import { client, get, startVelo } from './harness.js';

test('request_headers reach the backend rewritten, response_headers reach the client rewritten, per attempt backend name', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  const backend = http.createServer((req, res) => {
    seen = req.headers;
    res.setHeader('server', 'secret/1.0');
    res.setHeader('x-powered-by', 'php');
    res.end('ok');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => backend.close(() => r())));
  const url = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
  const yaml = `health_check: false
backends: [{ url: ${url}, name: web-1 }]
request_headers:
  set: { X-Env: prod, X-Client: "{client_ip}" }
  add: { X-Via: "velo {backend} {host}" }
  remove: [X-Debug]
response_headers:
  set: { X-Served-By: "{backend}" }
  remove: [Server, X-Powered-By]
`;
  const velo = await startVelo(t, yaml);
  const res = await get(client(t), `${velo.url}/`, { headers: { 'x-debug': '1', 'x-env': 'dev', host: 'shop.example', 'x-request-id': 'abc' } });
  t.is(res.status, 200);
  t.is(seen['x-env'], 'prod');
  t.is(seen['x-client'], '127.0.0.1');
  t.is(seen['x-via'], 'velo web-1 shop.example');
  t.is(seen['x-debug'], undefined);
  t.is(res.headers['x-served-by'], 'web-1');
  t.is(res.headers.server, undefined);
  t.is(res.headers['x-powered-by'], undefined);
});
