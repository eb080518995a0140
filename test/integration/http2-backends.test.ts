/**
 * HTTP/2 towards backends (`protocol: h2 | h2c`) on real sockets: node:http2 backends behind
 * velo, an HTTP/1.1 client in front. Requests and bodies arrive as HTTP/2, streams share
 * connections (bodies included), `max_connections` counts streams, trailers reach a client that
 * accepts them, health checks speak HTTP/2, and a TLS backend that will not speak h2 is refused.
 */
import test from 'ava';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { client, eventually, get, startVelo } from './harness.js';
import { FIXTURE_CERT, FIXTURE_KEY, http1, startH2Backend } from './h2-backends.js';
import type { RequestRecord } from '../../src/engine/request-record.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';
const H2_TLS = `protocol: h2\ntls: { ca: ${FIXTURE_CERT} }\n`;

test('h2c: GET and a POST body reach the backend over HTTP/2, on one connection', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}`, [b.url]);
  const agent = client(t);
  const got = await get(agent, `${velo.url}/a?x=1`);
  t.is(got.status, 200);
  t.like(JSON.parse(got.body), { httpVersion: '2.0', method: 'GET', path: '/a?x=1', body: '' });
  const posted = await get(agent, `${velo.url}/b`, { method: 'POST', body: 'x'.repeat(100_000), headers: { 'content-type': 'text/plain' } });
  t.is(posted.status, 200);
  t.like(JSON.parse(posted.body), { httpVersion: '2.0', method: 'POST', body: 'x'.repeat(100_000) });
  t.is(b.seen[1]!.headers['content-length'], '100000');
  t.is(b.seen[1]!.headers['x-forwarded-for'], '127.0.0.1');
  t.true(Object.keys(b.seen[1]!.headers).every((name) => !name.startsWith(':') || [':method', ':path', ':scheme', ':authority'].includes(name)));
  t.is(b.sessions, 1);
});

test('h2 over TLS: ALPN selects h2 and requests, with a chunked POST body, arrive as HTTP/2', async (t) => {
  const b = await startH2Backend(t, 'h2');
  const velo = await startVelo(t, `${H2_TLS}${NO_HEALTH}`, [b.url]);
  const reply = await http1(`${velo.url}/up`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'chunked body' });
  t.is(reply.status, 200);
  t.is(reply.statusMessage, 'OK', 'HTTP/2 has no reason phrase: the client gets the standard one');
  t.like(JSON.parse(reply.body), { httpVersion: '2.0', method: 'POST', body: 'chunked body' });
  t.is((await get(client(t), `${velo.url}/get`)).status, 200);
  t.is(b.sessions, 1);
  const checked = await startVelo(t, `${H2_TLS}health_check: { interval: 100ms, timeout: 1s, rise: 1, fall: 1 }\n`, [b.url]);
  await eventually(() => checked.engine.pools[0]!.upstreams[0]!.health.state === 'healthy', 5000, 'healthy over h2');
  t.true(b.seen.some((r) => r.path === '/health' && r.httpVersion === '2.0'), 'health checks speak h2 with the pool CA');
});

test('h2 to a TLS backend that only speaks HTTP/1.1: the connect fails (502), nothing is pipelined', async (t) => {
  const server = https.createServer({ cert: readFileSync(FIXTURE_CERT), key: readFileSync(FIXTURE_KEY) }, (_req, res) => res.end('h1 only'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const velo = await startVelo(t, `${H2_TLS}${NO_HEALTH}retry: { attempts: 0 }\n`, [url]);
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const reply = await get(client(t), velo.url);
  t.is(reply.status, 502);
  t.is(records[0]!.termination, 'UF');
});

test('streams share one connection: a POST is not held behind a long response on the same connection', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}`, [b.url]);
  const agent = client(t);
  let longDone = false;
  const long = get(agent, `${velo.url}/hold`, { method: 'POST', body: 'first' }).finally(() => (longDone = true));
  await eventually(() => b.held.length === 1, 5000, 'the first POST at the backend');
  // undici 7 alone parks a second bodied request until the first stream ends (src/upstream/h2.ts):
  // here until the first times out, 30 s later.
  let deadline: NodeJS.Timeout | undefined;
  const second = await Promise.race([
    get(agent, `${velo.url}/quick`, { method: 'POST', body: 'second' }),
    new Promise<never>((_, reject) => (deadline = setTimeout(() => reject(new Error('the second POST waited behind the first')), 5000))),
  ]).finally(() => clearTimeout(deadline));
  t.like(JSON.parse(second.body), { body: 'second', httpVersion: '2.0' });
  t.false(longDone, 'the first is still open');
  t.is(b.sessions, 1, 'both on one connection');
  b.held[0]!();
  t.like(JSON.parse((await long).body), { body: 'first' });
});

test('max_connections counts streams in flight: the third concurrent request gets 503 while two share a connection', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}max_connections: 2\n`, [b.url]);
  const agent = client(t);
  const first = get(agent, `${velo.url}/hold1`);
  const second = get(agent, `${velo.url}/hold2`, { method: 'POST', body: 'two' });
  await eventually(() => b.held.length === 2, 5000, 'two requests at the backend');
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 2);
  const third = await get(agent, `${velo.url}/now`);
  t.is(third.status, 503);
  t.is(b.sessions, 1);
  for (const release of b.held) release();
  t.is((await first).status, 200);
  t.is((await second).status, 200);
  t.is((await get(agent, `${velo.url}/after`)).status, 200);
});

test('trailers from an HTTP/2 backend reach an HTTP/1.1 client that sent TE: trailers, in a chunked response', async (t) => {
  const b = await startH2Backend(t, 'h2c', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'fine', 'x-checksum': 'abc' });
    res.end('payload');
  });
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}`, [b.url]);
  const withTe = await http1(`${velo.url}/t`, { headers: { te: 'trailers' } });
  t.is(withTe.status, 200);
  t.is(withTe.body, 'payload');
  t.is(withTe.headers['transfer-encoding'], 'chunked');
  t.deepEqual(withTe.trailers, { 'grpc-status': '0', 'grpc-message': 'fine', 'x-checksum': 'abc' });
  t.is(b.seen[0]!.headers.te, 'trailers', 'te: trailers went on to the HTTP/2 backend');
  const withoutTe = await http1(`${velo.url}/t`);
  t.is(withoutTe.body, 'payload');
  t.deepEqual(withoutTe.trailers, {}, 'a client that did not ask gets no trailers');
  t.is(b.seen[1]!.headers.te, undefined);
});

test('health checks of an h2c pool are HTTP/2 requests; a backend that stops answering goes down', async (t) => {
  let healthy = true;
  const b = await startH2Backend(t, 'h2c', (_req, res) => {
    res.writeHead(healthy ? 200 : 503);
    res.end();
  });
  const velo = await startVelo(t, 'protocol: h2c\nhealth_check: { interval: 100ms, timeout: 500ms, rise: 1, fall: 2 }\n', [b.url]);
  const u = velo.engine.pools[0]!.upstreams[0]!;
  await eventually(() => u.health.state === 'healthy', 5000, 'healthy over h2c');
  t.true(b.seen.some((r) => r.path === '/health' && r.httpVersion === '2.0'));
  healthy = false;
  await eventually(() => u.health.state === 'unhealthy', 5000, 'unhealthy after two failed checks');
  t.is(u.lastCheck?.detail, 'status 503');
});

test('a WebSocket upgrade to an h2c pool is refused (400) without blaming the backend', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}`, [b.url]);
  const reply = await http1(`${velo.url}/ws`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } }).catch((err: Error) => err);
  t.false(reply instanceof Error);
  t.is((reply as { status: number }).status, 400);
  const u = velo.engine.pools[0]!.upstreams[0]!;
  t.is(u.counters.failures, 0);
  t.is(b.seen.length, 0);
  t.is(u.inFlight, 0);
});

test('a backend added at runtime must match the pool protocol: http:// into an h2 pool is a 400, https:// joins', async (t) => {
  const b = await startH2Backend(t, 'h2');
  const velo = await startVelo(t, `${H2_TLS}${NO_HEALTH}`, [b.url]);
  const err = t.throws(() => velo.control.addBackend('default', { url: 'http://127.0.0.1:9' })) as Error & { code?: string };
  t.is(err.code, 'E_BAD_REQUEST');
  t.regex(err.message, /protocol h2 is HTTP\/2 over TLS.*protocol: h2c/);
  const added = velo.control.addBackend('default', { url: 'https://127.0.0.1:9' });
  t.is(added.protocol, 'h2');
  t.is(velo.engine.pools[0]!.upstreams.length, 2);
});
