/**
 * Issue 13 §3, W3C Trace Context over real sockets: a valid `traceparent` reaches the backend
 * with its trace-id and flags and velo's span as the parent, `tracestate` untouched, and the
 * access line logs the trace-id; an invalid or missing one starts a trace; every retry carries
 * the same span; a WebSocket handshake gets it too; velo's own answers log a trace-id; and with
 * `tracing: { propagate: false }` velo neither adds nor changes nor removes anything.
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { formatAccessLine } from '../../src/metrics/access-log.js';
import { client, eventually, get, startVelo } from './harness.js';
import { HANDSHAKE, accept101, converse, upgradeBackend } from './raw-peers.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A backend answering `status` to every request and keeping each request's headers. */
async function recordingBackend(t: ExecutionContext, status = 200): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain' }).end('ok\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** The access lines of every request velo finishes, parsed. */
function accessLines(records: RequestRecord[]): Array<Record<string, unknown>> {
  return records.map((r) => JSON.parse(formatAccessLine(r)) as Record<string, unknown>);
}

async function velo(t: ExecutionContext, yaml: string, backends?: string[]) {
  const live = await startVelo(t, yaml, backends);
  const records: RequestRecord[] = [];
  live.engine.observers.push((r) => records.push(r));
  return { ...live, records };
}

test('a valid traceparent goes on with the same trace-id and flags, velo\'s new span as parent, tracestate unchanged; the access line has the trace-id', async (t) => {
  const backend = await recordingBackend(t);
  const live = await velo(t, NO_HEALTH, [backend.url]);
  const headers = { traceparent: `00-${TRACE}-${CALLER_SPAN}-00`, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' };
  t.is((await get(client(t), `${live.url}/`, { headers })).status, 200);
  const sent = TRACEPARENT.exec(String(backend.seen[0]!.traceparent));
  t.truthy(sent, 'one well-formed traceparent upstream');
  const [, traceId, parent, flags] = sent!;
  t.is(traceId, TRACE);
  t.is(flags, '00', 'flags unchanged (velo does not sample)');
  t.not(parent, CALLER_SPAN, 'velo is the backend\'s parent, not the client');
  t.not(parent, '0000000000000000');
  t.is(backend.seen[0]!.tracestate, headers.tracestate);
  await eventually(() => live.records.length === 1, 3000, 'the record');
  t.is(accessLines(live.records)[0]!.trace_id, TRACE);
  t.is(live.records[0]!.traceId, TRACE);
});

test('each request gets its own span of velo\'s under the same caller', async (t) => {
  const backend = await recordingBackend(t);
  const live = await velo(t, NO_HEALTH, [backend.url]);
  const agent = client(t);
  for (let i = 0; i < 3; i++) await get(agent, `${live.url}/`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
  const spans = backend.seen.map((h) => TRACEPARENT.exec(String(h.traceparent))![2]);
  t.is(new Set(spans).size, 3);
});

for (const [what, header] of [
  ['an all-zero trace-id', `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`],
  ['upper-case hex', `00-${TRACE.toUpperCase()}-${CALLER_SPAN}-01`],
  ['a version 00 header with an extra field', `00-${TRACE}-${CALLER_SPAN}-01-00`],
  ['garbage', 'not-a-trace'],
] as const) {
  test(`an invalid traceparent (${what}) restarts the trace and drops the orphaned tracestate`, async (t) => {
    const backend = await recordingBackend(t);
    const live = await velo(t, NO_HEALTH, [backend.url]);
    await get(client(t), `${live.url}/`, { headers: { traceparent: header, tracestate: 'congo=t61rcWkgMzE' } });
    const sent = TRACEPARENT.exec(String(backend.seen[0]!.traceparent));
    t.truthy(sent);
    t.not(sent![1], TRACE);
    t.is(sent![3], '01', 'a trace velo starts is sampled');
    t.is(backend.seen[0]!.tracestate, undefined);
    await eventually(() => live.records.length === 1, 3000, 'the record');
    t.is(live.records[0]!.traceId, sent![1]);
  });
}

test('without a traceparent velo creates one: a 32-hex trace-id, logged', async (t) => {
  const backend = await recordingBackend(t);
  const live = await velo(t, NO_HEALTH, [backend.url]);
  await get(client(t), `${live.url}/`);
  await get(client(t), `${live.url}/`);
  const sent = backend.seen.map((h) => TRACEPARENT.exec(String(h.traceparent)));
  t.truthy(sent[0]);
  t.truthy(sent[1]);
  t.regex(sent[0]![1]!, /^[0-9a-f]{32}$/);
  t.not(sent[0]![1], sent[1]![1], 'two requests, two traces');
  await eventually(() => live.records.length === 2, 3000, 'the records');
  t.deepEqual(
    accessLines(live.records).map((l) => l.trace_id),
    sent.map((m) => m![1]),
  );
});

test('a retry carries the same traceparent as the first attempt: one span of velo\'s per request', async (t) => {
  const failing = await recordingBackend(t, 503);
  const healthy = await recordingBackend(t, 200);
  const live = await velo(t, `${NO_HEALTH}strategy: round-robin\nretry: { attempts: 1, on_status: [503], backoff_base: 0ms }\n`, [failing.url, healthy.url]);
  const res = await get(client(t), `${live.url}/`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
  t.is(res.status, 200);
  t.is(failing.seen.length, 1);
  t.is(healthy.seen.length, 1);
  t.regex(String(failing.seen[0]!.traceparent), new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  t.is(healthy.seen[0]!.traceparent, failing.seen[0]!.traceparent);
  await eventually(() => live.records.length === 1, 3000, 'the record');
  t.like(live.records[0], { attempts: 2, traceId: TRACE });
});

test('a WebSocket handshake gets the traceparent too', async (t) => {
  const backend = await upgradeBackend(t, (_req, socket) => {
    accept101(socket);
    // Close the tunnel's far end once velo half-closes it, so the tunnel ends and is recorded.
    socket.on('end', () => socket.end());
  });
  const live = await velo(t, NO_HEALTH, [backend.url]);
  const c = converse(t, live.engine.address.port);
  c.socket.write(HANDSHAKE.replace('Host: x\r\n', `Host: x\r\ntraceparent: 00-${TRACE}-${CALLER_SPAN}-01\r\ntracestate: rojo=1\r\n`));
  await c.until('\r\n\r\n');
  const seen = backend.heads[0]!;
  const sent = TRACEPARENT.exec(String(seen.traceparent));
  t.truthy(sent);
  t.is(sent![1], TRACE);
  t.not(sent![2], CALLER_SPAN);
  t.is(seen.tracestate, 'rojo=1');
  c.socket.on('end', () => c.socket.end());
  c.socket.end();
  await eventually(() => live.records.length === 1, 3000, 'the tunnel\'s record');
  t.is(live.records[0]!.traceId, TRACE);
});

test('velo\'s own answers log the caller\'s trace-id, or a new one', async (t) => {
  const live = await velo(t, 'pools: [{ name: only, match: { host: only.test }, backends: [http://127.0.0.1:1], health_check: { enabled: false } }]\n');
  const agent = client(t);
  t.is((await get(agent, `${live.url}/`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } })).status, 404);
  t.is((await get(agent, `${live.url}/`)).status, 404);
  await eventually(() => live.records.length === 2, 3000, 'the records');
  t.is(live.records[0]!.traceId, TRACE);
  t.regex(String(live.records[1]!.traceId), /^[0-9a-f]{32}$/);
  t.not(live.records[1]!.traceId, TRACE);
});

test('tracing: { propagate: false } adds nothing, changes nothing, removes nothing, and logs no trace-id', async (t) => {
  const backend = await recordingBackend(t);
  const live = await velo(t, `${NO_HEALTH}tracing: { propagate: false }\n`, [backend.url]);
  const agent = client(t);
  await get(agent, `${live.url}/`);
  const invalid = 'not-a-trace';
  await get(agent, `${live.url}/`, { headers: { traceparent: invalid, tracestate: 'a=1' } });
  await get(agent, `${live.url}/`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
  t.is(backend.seen[0]!.traceparent, undefined);
  t.is(backend.seen[0]!.tracestate, undefined);
  t.is(backend.seen[1]!.traceparent, invalid, 'even an invalid one passes as the client sent it');
  t.is(backend.seen[1]!.tracestate, 'a=1');
  t.is(backend.seen[2]!.traceparent, `00-${TRACE}-${CALLER_SPAN}-01`);
  await eventually(() => live.records.length === 3, 3000, 'the records');
  t.deepEqual(
    accessLines(live.records).map((l) => l.trace_id),
    [null, null, null],
  );
});

test('tracing.propagate is read per request, so a reload that changes it applies to the next one', async (t) => {
  const backend = await recordingBackend(t);
  const live = await velo(t, `${NO_HEALTH}tracing: { propagate: false }\n`, [backend.url]);
  const agent = client(t);
  await get(agent, `${live.url}/`);
  live.engine.config = { ...live.engine.config, tracing: { propagate: true } };
  await get(agent, `${live.url}/`);
  t.is(backend.seen[0]!.traceparent, undefined);
  t.regex(String(backend.seen[1]!.traceparent), TRACEPARENT);
});
