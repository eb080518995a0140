import http from 'node:http';
import type { Socket } from 'node:net';
import { acceptWebSocketEcho } from './ws-echo.js';

/** Options of `startTestBackend`; every field is optional. */
export interface TestBackendOptions {
  /** Port to listen on; 0 (the default) lets the OS pick one. */
  port?: number;
  /** Address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Name reported in bodies and the `X-Backend` header; defaults to `backend-PORT`. */
  name?: string;
  /** Fixed delay added before every non-health response. */
  latencyMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per non-health response. */
  jitterMs?: number;
  /** Fraction (0..1) of non-health requests answered with an injected 500. */
  failRate?: number;
  /** Status forced on every non-health response. */
  status?: number;
  /** Source of randomness for jitter and failures, in [0, 1); defaults to Math.random. */
  random?: () => number;
}

/** A running test backend and the knobs that change its behaviour live. */
export interface TestBackend {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** Number of non-health requests received so far (health probes are not counted). */
  readonly requests: number;
  readonly server: http.Server;
  /** Makes `/health` answer 200 (true) or 503 (false). */
  setHealthy(ok: boolean): void;
  setLatency(ms: number, jitterMs?: number): void;
  setFailRate(fraction: number): void;
  /** Stops listening and destroys every open socket, so it never waits on idle keep-alive clients. */
  close(): Promise<void>;
}

const DROP_DECLARED_BYTES = 1024;

function checkNonNegative(label: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${label} must be a non-negative number, got ${value}`);
  return value;
}

function checkFraction(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`failRate must be in [0, 1], got ${value}`);
  return value;
}

function checkStatus(value: number): number {
  if (!Number.isInteger(value) || value < 200 || value > 599) throw new RangeError(`status must be an integer in 200..599, got ${value}`);
  return value;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts an HTTP + WebSocket test backend and resolves once it is listening. */
export async function startTestBackend(opts: TestBackendOptions = {}): Promise<TestBackend> {
  const host = opts.host ?? '127.0.0.1';
  const random = opts.random ?? Math.random;
  const forcedStatus = opts.status === undefined ? undefined : checkStatus(opts.status);
  let latencyMs = checkNonNegative('latencyMs', opts.latencyMs ?? 0);
  let jitterMs = checkNonNegative('jitterMs', opts.jitterMs ?? 0);
  let failRate = checkFraction(opts.failRate ?? 0);
  let healthy = true;
  let requests = 0;
  let closed = false;
  let name = opts.name ?? '';
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const send = (res: http.ServerResponse, status: number, type: string, body: string): void => {
    // https://www.rfc-editor.org/rfc/rfc9110#section-15.3.5: 204 and 304 carry no content.
    if (status === 204 || status === 304) return void res.writeHead(status).end();
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const sendJson = (res: http.ServerResponse, status: number, value: unknown): void =>
    send(res, status, 'application/json', JSON.stringify(value));
  const statusOr = (status: number): number => forcedStatus ?? status;

  const readBody = async (req: http.IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const stream = async (req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): Promise<void> => {
    const chunks = Number(query.get('chunks') ?? 5);
    const intervalMs = Number(query.get('interval') ?? 50);
    if (!Number.isInteger(chunks) || chunks < 0 || !Number.isFinite(intervalMs) || intervalMs < 0) {
      sendJson(res, statusOr(400), { error: 'chunks and interval must be non-negative numbers' });
      return;
    }
    res.writeHead(statusOr(200), { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    for (let i = 0; i < chunks && !res.destroyed; i++) {
      if (i > 0) await wait(intervalMs);
      res.write(`data: ${i}\n\n`);
    }
    res.end();
  };

  const drop = (res: http.ServerResponse): void => {
    res.writeHead(statusOr(200), { 'Content-Type': 'text/plain', 'Content-Length': DROP_DECLARED_BYTES });
    res.write('partial body', () => res.socket?.destroy());
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    if (path === '/echo') {
      const body = await readBody(req);
      sendJson(res, statusOr(200), { name, method: req.method, url: req.url, headers: req.headers, body });
    } else if (path === '/stream') {
      await stream(req, res, query);
    } else if (path === '/drop') {
      drop(res);
    } else if (path.startsWith('/status/')) {
      const code = /^\d{3}$/.test(path.slice(8)) ? Number(path.slice(8)) : 0;
      if (code >= 200 && code <= 599) sendJson(res, statusOr(code), { name, status: code });
      else sendJson(res, statusOr(400), { error: 'status must be an integer in 200..599' });
    } else if (path.startsWith('/delay/')) {
      const ms = /^\d+$/.test(path.slice(7)) ? Number(path.slice(7)) : -1;
      if (ms < 0) return sendJson(res, statusOr(400), { error: 'delay must be a whole number of ms' });
      await wait(ms);
      sendJson(res, statusOr(200), { name, delayMs: ms });
    } else {
      send(res, statusOr(200), 'text/plain', `${name}\n`);
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.setHeader('X-Backend', name);
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
    if (path === '/health') {
      res.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', name }));
      return;
    }
    requests++;
    const delayMs = latencyMs + (jitterMs > 0 ? random() * jitterMs : 0);
    if (delayMs > 0) await wait(delayMs);
    if (res.destroyed) return;
    if (failRate > 0 && random() < failRate) {
      req.resume();
      sendJson(res, 500, { error: 'injected failure' });
      return;
    }
    await route(req, res, path, new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1)));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    if (closed) return socket.destroy();
    if ((req.url ?? '').split('?')[0] !== '/ws') {
      socket.end(`HTTP/1.1 404 Not Found\r\nX-Backend: ${name}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    acceptWebSocketEcho(req, socket, head, name);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  if (!name) name = `backend-${port}`;

  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    name,
    get requests() {
      return requests;
    },
    server,
    setHealthy(ok) {
      healthy = ok;
    },
    setLatency(ms, jitter = 0) {
      latencyMs = checkNonNegative('latencyMs', ms);
      jitterMs = checkNonNegative('jitterMs', jitter);
    },
    setFailRate(fraction) {
      failRate = checkFraction(fraction);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return done;
    },
  };
}
