/**
 * gRPC through velo end to end with @grpc/grpc-js on both sides: a grpc-js client speaks h2c to
 * velo (`listen.h2c`), velo speaks h2c to grpc-js servers (`protocol: h2c`). Unary, server
 * streaming and bidirectional streaming; statuses and trailers intact; a killed backend fails
 * over; a deadline expires; velo's own errors are gRPC errors.
 */
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { startVelo, eventually } from './harness.js';
import type { RequestRecord } from '../../src/engine/request-record.js';

const PROTO = fileURLToPath(new URL('../../fixtures/grpc/echo.proto', import.meta.url));
const definition = protoLoader.loadSync(PROTO, { keepCase: false, defaults: true });
const EchoService = (grpc.loadPackageDefinition(definition) as unknown as { velo: { test: { Echo: grpc.ServiceClientConstructor } } }).velo.test.Echo;

interface EchoRequest {
  message: string;
  count: number;
  delayMs: number;
  failWith: number;
}
interface EchoReply {
  message: string;
  server: string;
  index: number;
}

interface Backend {
  name: string;
  url: string;
  server: grpc.Server;
  calls: number;
}

/** A grpc-js Echo server on 127.0.0.1:0 (insecure, h2c), shut down at teardown. */
async function startEcho(t: ExecutionContext, name: string): Promise<Backend> {
  const server = new grpc.Server();
  const backend: Backend = { name, url: '', server, calls: 0 };
  server.addService(EchoService.service, {
    Unary: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      backend.calls += 1;
      const answer = (): void => {
        if (call.request.failWith !== 0) {
          const trailer = new grpc.Metadata();
          trailer.set('x-why', 'asked to fail');
          callback({ code: call.request.failWith, details: `failed as asked by ${name}`, metadata: trailer });
          return;
        }
        const trailer = new grpc.Metadata();
        trailer.set('x-served-by', name);
        callback(null, { message: call.request.message, server: name, index: 0 }, trailer);
      };
      if (call.request.delayMs > 0) setTimeout(answer, call.request.delayMs);
      else answer();
    },
    ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
      backend.calls += 1;
      for (let i = 0; i < call.request.count; i++) call.write({ message: `${call.request.message} ${i}`, server: name, index: i });
      call.end();
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      backend.calls += 1;
      let index = 0;
      call.on('data', (req: EchoRequest) => call.write({ message: req.message.toUpperCase(), server: name, index: index++ }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  backend.url = `http://127.0.0.1:${port}`;
  t.teardown(() => server.forceShutdown());
  return backend;
}

function echoClient(t: ExecutionContext, address: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  const c = new EchoService(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  t.teardown(() => c.close());
  return c;
}

function unary(c: ReturnType<typeof echoClient>, req: Partial<EchoRequest>, options: grpc.CallOptions = {}): Promise<{ reply?: EchoReply; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = c.Unary(req, new grpc.Metadata(), options, (error: grpc.ServiceError | null, reply: EchoReply) => {
      // grpc-js calls back before it emits 'status' (with the trailers): wait a tick for it.
      setImmediate(() => resolve(error ? { error, trailers: error.metadata } : { reply, trailers }));
    }) as grpc.ClientUnaryCall;
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

async function veloFor(t: ExecutionContext, backends: Backend[], extra = ''): Promise<{ address: string; records: RequestRecord[]; velo: Awaited<ReturnType<typeof startVelo>> }> {
  const yaml = [
    'listen: { h2c: true }',
    'protocol: h2c',
    'health_check: { enabled: false }',
    'retry: { attempts: 2 }',
    extra,
  ].join('\n');
  const velo = await startVelo(t, yaml, backends.map((b) => b.url));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  return { address: `127.0.0.1:${velo.engine.address.port}`, records, velo };
}

test('unary: the reply and the trailers (grpc-status 0, custom metadata) come back through velo', async (t) => {
  const b = await startEcho(t, 'g1');
  const { address, records } = await veloFor(t, [b]);
  const c = echoClient(t, address);
  const { reply, error, trailers } = await unary(c, { message: 'hello' });
  t.is(error, undefined);
  t.deepEqual(reply, { message: 'hello', server: 'g1', index: 0 });
  t.deepEqual(trailers?.get('x-served-by'), ['g1']);
  await eventually(() => records.length === 1, 2000, 'the record');
  t.is(records[0]!.status, 200);
  t.is(records[0]!.method, 'POST');
  t.is(records[0]!.path, '/velo.test.Echo/Unary');
});

test('a backend\'s gRPC error reaches the client with its code, message and trailer metadata', async (t) => {
  const b = await startEcho(t, 'g1');
  const { address } = await veloFor(t, [b]);
  const c = echoClient(t, address);
  const { error } = await unary(c, { message: 'x', failWith: grpc.status.PERMISSION_DENIED });
  t.is(error?.code, grpc.status.PERMISSION_DENIED);
  t.is(error?.details, 'failed as asked by g1');
  t.deepEqual(error?.metadata.get('x-why'), ['asked to fail']);
});

test('server streaming: every message in order, then OK', async (t) => {
  const b = await startEcho(t, 'g1');
  const { address } = await veloFor(t, [b]);
  const c = echoClient(t, address);
  const call = c.ServerStream({ message: 'm', count: 200 }) as grpc.ClientReadableStream<EchoReply>;
  const got: EchoReply[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
    call.on('data', (r: EchoReply) => got.push(r));
    call.on('status', resolve);
    call.on('error', reject);
  });
  t.is(status.code, grpc.status.OK);
  t.is(got.length, 200);
  t.deepEqual(got.map((r) => r.index), Array.from({ length: 200 }, (_, i) => i));
});

test('bidirectional streaming: each request answered before the client half-closes', async (t) => {
  const b = await startEcho(t, 'g1');
  const { address } = await veloFor(t, [b]);
  const c = echoClient(t, address);
  const call = c.Bidi() as grpc.ClientDuplexStream<EchoRequest, EchoReply>;
  const replies: EchoReply[] = [];
  const next = (): Promise<EchoReply> => new Promise((resolve) => call.once('data', resolve));
  // Ping-pong: the second message is only sent after the first reply came back, which needs
  // velo to relay both directions at once.
  call.write({ message: 'one' });
  replies.push(await next());
  call.write({ message: 'two' });
  replies.push(await next());
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.end();
  t.is((await status).code, grpc.status.OK);
  t.deepEqual(replies.map((r) => r.message), ['ONE', 'TWO']);
});

test('a killed backend: calls fail over to the other one and all succeed', async (t) => {
  const g1 = await startEcho(t, 'g1');
  const g2 = await startEcho(t, 'g2');
  const { address } = await veloFor(t, [g1, g2]);
  const c = echoClient(t, address);
  for (let i = 0; i < 4; i++) t.is((await unary(c, { message: `warm ${i}` })).error, undefined);
  g1.server.forceShutdown();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => unary(c, { message: `after ${i}` })));
  t.deepEqual(results.map((r) => r.error?.code ?? 0), Array(20).fill(0), 'every call succeeded');
  t.true(results.every((r) => r.reply?.server === 'g2'));
});

test('a deadline: grpc-timeout bounds the upstream attempt and the client gets DEADLINE_EXCEEDED', async (t) => {
  const b = await startEcho(t, 'g1');
  const { address, records } = await veloFor(t, [b], 'timeouts: { response: 30s }');
  const c = echoClient(t, address);
  const started = Date.now();
  const { error } = await unary(c, { message: 'slow', delayMs: 3000 }, { deadline: Date.now() + 300 });
  t.is(error?.code, grpc.status.DEADLINE_EXCEEDED);
  t.true(Date.now() - started < 2000);
  await eventually(() => records.length === 1, 3000, 'the record');
  t.not(records[0]!.termination, '-');
});

test('velo\'s own errors are gRPC errors: no backend up is UNAVAILABLE', async (t) => {
  const velo = await startVelo(t, 'listen: { h2c: true }\nprotocol: h2c\nhealth_check: { enabled: false }\n', ['http://127.0.0.1:1']);
  const c = echoClient(t, `127.0.0.1:${velo.engine.address.port}`);
  const { error } = await unary(c, { message: 'x' });
  t.is(error?.code, grpc.status.UNAVAILABLE);
});
