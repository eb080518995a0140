/**
 * HTTP/2 test backends on port 0 (node:http2): `h2c` cleartext with prior knowledge, or `h2` over
 * TLS with the fixture certificate (CN localhost, IP 127.0.0.1). Each records what it saw and can
 * hold responses until the test releases them.
 */
import type { ExecutionContext } from 'ava';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

export const FIXTURE_CERT = new URL('../../fixtures/tls/cert.pem', import.meta.url).pathname;
export const FIXTURE_KEY = new URL('../../fixtures/tls/key.pem', import.meta.url).pathname;

export interface SeenRequest {
  method: string;
  path: string;
  httpVersion: string;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

export type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, body: string) => void;

export interface H2Backend {
  url: string;
  seen: SeenRequest[];
  /** HTTP/2 sessions (connections) opened to it so far. */
  sessions: number;
  /** Requests whose handler has not answered yet (see `hold`). */
  held: Array<() => void>;
  server: http2.Http2Server | http2.Http2SecureServer;
}

/**
 * Starts an HTTP/2 backend. The default handler answers `200` with a JSON echo of what it saw
 * (`httpVersion`, `method`, `path`, `body`, `te`, `grpcTimeout`); `/hold...` paths wait until
 * `held` is called. `handler` replaces the answer (after the body was read).
 */
export async function startH2Backend(t: ExecutionContext, kind: 'h2c' | 'h2', handler?: H2Handler): Promise<H2Backend> {
  const backend: H2Backend = { url: '', seen: [], sessions: 0, held: [], server: undefined as unknown as http2.Http2Server };
  const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      backend.seen.push({ method: req.method, path: req.url, httpVersion: req.httpVersion, headers: req.headers, body });
      const answer = (): void => {
        if (res.stream.destroyed) return;
        if (handler !== undefined) return handler(req, res, body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ httpVersion: req.httpVersion, method: req.method, path: req.url, body, te: req.headers.te ?? null, grpcTimeout: req.headers['grpc-timeout'] ?? null }));
      };
      if (req.url.startsWith('/hold')) backend.held.push(answer);
      else answer();
    });
  };
  const server =
    kind === 'h2c'
      ? http2.createServer(onRequest)
      : http2.createSecureServer({ cert: readFileSync(FIXTURE_CERT), key: readFileSync(FIXTURE_KEY), allowHTTP1: false }, onRequest);
  backend.server = server;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    backend.sessions += 1;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  backend.url = `${kind === 'h2c' ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return backend;
}

export interface Http1Reply {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: string;
}

/** One HTTP/1.1 request with node:http (which exposes trailers), on a fresh connection. */
export function http1(url: string, opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<Http1Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
