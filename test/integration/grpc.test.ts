/**
 * gRPC through velo, over HTTP/1.1 on the client side for now: velo's own errors as gRPC
 * statuses (Trailers-Only, HTTP 200), `grpc-timeout` as the call's deadline, and the `grpc`
 * health check against a real @grpc/grpc-js server with the standard health service.
 */
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { eventually, refusingUrl, startVelo } from './harness.js';
import { http1, startH2Backend } from './h2-backends.js';
import type { RequestRecord } from '../../src/engine/request-record.js';
import type { ProbeResult } from '../../src/health/active-check.js';
import { parseGrpcTimeout } from '../../src/engine/grpc.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';
const GRPC = { 'content-type': 'application/grpc', te: 'trailers' };

function records(velo: { engine: { observers: Array<(r: RequestRecord) => void> } }): RequestRecord[] {
  const out: RequestRecord[] = [];
  velo.engine.observers.push((r) => out.push(r));
  return out;
}

/** A grpc-js server on 127.0.0.1:0 with the standard health service only. */
async function healthServer(t: ExecutionContext, statuses: Record<string, 'SERVING' | 'NOT_SERVING'>): Promise<{ url: string; health: HealthImplementation; server: grpc.Server }> {
  const server = new grpc.Server();
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return { url: `http://127.0.0.1:${port}`, health, server };
}

test("velo's 502 and 503 to a gRPC request are Trailers-Only UNAVAILABLE (HTTP 200); the access log keeps 502 and 503", async (t) => {
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}retry: { attempts: 0 }\n`, [refusingUrl()]);
  const log = records(velo);
  const reply = await http1(`${velo.url}/pkg.Svc/Method`, { method: 'POST', headers: GRPC, body: '\0\0\0\0\0' });
  t.is(reply.status, 200);
  t.is(reply.headers['content-type'], 'application/grpc');
  t.is(reply.headers['grpc-status'], '14');
  t.is(reply.headers['grpc-message'], 'upstream connect failed');
  t.is(reply.headers['content-length'], '0');
  t.is(reply.body, '');
  t.is(log[0]!.status, 502);
  velo.control.drain('default', velo.engine.pools[0]!.upstreams[0]!.id);
  const unavailable = await http1(`${velo.url}/pkg.Svc/Method`, { method: 'POST', headers: { 'content-type': 'application/grpc+proto' }, body: '' });
  t.is(unavailable.status, 200);
  t.is(unavailable.headers['content-type'], 'application/grpc+proto');
  t.is(unavailable.headers['grpc-status'], '14');
  t.truthy(unavailable.headers['retry-after']);
  t.is(log[1]!.status, 503);
  const plain = await http1(`${velo.url}/json`);
  t.is(plain.status, 503, 'a request that is not gRPC keeps the HTTP status and JSON body');
  t.is(JSON.parse(plain.body).error, 'no backend available');
});

test('no pool for the host is UNIMPLEMENTED and a rate-limited call RESOURCE_EXHAUSTED, to gRPC clients only', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `pools:\n  - name: api\n    protocol: h2c\n    match: { host: api.test }\n    ${NO_HEALTH}    backends: [${b.url}]\n    rate_limit: { rps: 1, burst: 1 }\n`);
  const missing = await http1(`${velo.url}/x.Y/Z`, { method: 'POST', headers: { ...GRPC, host: 'other.test' }, body: '' });
  t.is(missing.status, 200);
  t.is(missing.headers['grpc-status'], '12');
  t.is(missing.headers['grpc-message'], 'no pool matches this host and path');
  const first = await http1(`${velo.url}/x.Y/Z`, { method: 'POST', headers: { ...GRPC, host: 'api.test' }, body: '' });
  t.is(first.status, 200);
  t.is(first.headers['grpc-status'], undefined, "the backend's answer passes through");
  const limited = await http1(`${velo.url}/x.Y/Z`, { method: 'POST', headers: { ...GRPC, host: 'api.test' }, body: '' });
  t.is(limited.status, 200);
  t.is(limited.headers['grpc-status'], '8');
});

test('grpc-timeout bounds the wait for the backend: DEADLINE_EXCEEDED long before timeouts.response, and the backend is told the time left', async (t) => {
  const b = await startH2Backend(t, 'h2c');
  const velo = await startVelo(t, `protocol: h2c\n${NO_HEALTH}timeouts: { response: 30s }\n`, [b.url]);
  const log = records(velo);
  const started = Date.now();
  const reply = await http1(`${velo.url}/hold/pkg.Svc/Slow`, { method: 'POST', headers: { ...GRPC, 'grpc-timeout': '300m' }, body: 'call' });
  const took = Date.now() - started;
  t.is(reply.status, 200);
  t.is(reply.headers['grpc-status'], '4');
  t.is(reply.headers['grpc-message'], 'deadline exceeded');
  t.true(took >= 290 && took < 5000, `answered after ${took} ms`);
  t.is(log[0]!.status, 504);
  t.is(log[0]!.termination, 'UT');
  t.is(log[0]!.attempts, 1, 'no retry once the deadline has passed');
  const sent = parseGrpcTimeout(String(b.seen[0]!.headers['grpc-timeout']));
  t.true(sent !== undefined && sent <= 300 && sent > 0, `grpc-timeout upstream: ${String(b.seen[0]!.headers['grpc-timeout'])}`);
  t.is(b.seen[0]!.headers.te, 'trailers');
});

test('grpc health check: SERVING is healthy, NOT_SERVING is unhealthy after `fall` checks, a stopped server is unhealthy', async (t) => {
  const backend = await healthServer(t, { '': 'SERVING', 'velo.Test': 'SERVING' });
  const velo = await startVelo(t, 'protocol: h2c\nhealth_check: { type: grpc, service: velo.Test, interval: 50ms, timeout: 1s, rise: 1, fall: 3 }\n', [backend.url]);
  // Each result with the state it found: the check that takes the backend down still found it healthy.
  const results: Array<ProbeResult & { found: string }> = [];
  const u = velo.engine.pools[0]!.upstreams[0]!;
  velo.engine.probeObservers.push((_u, r) => results.push({ ...r, found: u.health.state }));
  await eventually(() => u.health.state === 'healthy', 5000, 'SERVING -> healthy');
  const mark = results.length;
  backend.health.setStatus('velo.Test', 'NOT_SERVING');
  await eventually(() => u.health.state === 'unhealthy', 5000, 'NOT_SERVING -> unhealthy');
  const failedWhileHealthy = results.slice(mark).filter((r) => !r.ok && r.found === 'healthy');
  t.is(failedWhileHealthy.length, 3, 'down after exactly `fall` failed checks');
  t.is(u.lastCheck?.detail, 'status NOT_SERVING');
  backend.health.setStatus('velo.Test', 'SERVING');
  await eventually(() => u.health.state === 'healthy', 5000, 'back to SERVING');
  backend.server.forceShutdown();
  await eventually(() => u.health.state === 'unhealthy', 5000, 'server down -> unhealthy');
  t.is(u.lastCheck?.detail, 'ECONNREFUSED');
});

test('a grpc health check of an unknown service fails with NOT_FOUND', async (t) => {
  const backend = await healthServer(t, { '': 'SERVING' });
  const velo = await startVelo(t, 'protocol: h2c\nhealth_check: { type: grpc, service: not.There, interval: 1s, timeout: 1s }\n', [backend.url]);
  const u = velo.engine.pools[0]!.upstreams[0]!;
  await eventually(() => u.health.state === 'unhealthy', 5000, 'unknown service -> unhealthy');
  t.regex(u.lastCheck?.detail ?? '', /^NOT_FOUND/);
});

test('end to end over HTTP/2 on both sides: a grpc-js client through velo (listen.h2c) to a grpc-js server, trailers and errors included', async (t) => {
  const backend = await healthServer(t, { '': 'SERVING', 'velo.Down': 'NOT_SERVING' });
  const velo = await startVelo(t, `listen: { h2c: true }\nprotocol: h2c\n${NO_HEALTH}retry: { attempts: 0 }\n`, [backend.url]);
  const { service } = await import('grpc-health-check');
  const HealthClient = grpc.makeGenericClientConstructor(service as never, 'grpc.health.v1.Health');
  const clientOf = (url: string) => new HealthClient(url.replace('http://', ''), grpc.credentials.createInsecure());
  const check = (c: grpc.Client, name: string, deadlineMs = 5000) =>
    new Promise<{ status?: string; code?: number; details?: string }>((resolve) => {
      (c as unknown as Record<string, Function>)['check']!.call(c, { service: name }, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, reply: { status: string }) =>
        resolve(err !== null ? { code: err.code, details: err.details } : { status: reply.status }),
      );
    });
  const through = clientOf(velo.url);
  t.teardown(() => through.close());
  t.deepEqual(await check(through, ''), { status: 'SERVING' }, 'headers, message and trailers relayed both ways');
  t.deepEqual(await check(through, 'velo.Down'), { status: 'NOT_SERVING' });
  t.like(await check(through, 'nope'), { code: grpc.status.NOT_FOUND }, "the backend's own grpc-status passes through");
  backend.server.forceShutdown();
  t.like(await check(through, ''), { code: grpc.status.UNAVAILABLE, details: 'upstream connect failed' }, "velo's 502 as UNAVAILABLE");
});
