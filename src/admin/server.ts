/**
 * The admin API on its own port (node:http): refusal of browser-borne requests (foreign Host
 * without a token, foreign Origin, cross-site, non-JSON bodies, CORS preflights; see
 * `request-guard.ts`), bearer-token auth, a 64 KiB body limit, a route table with 404 and 405
 * (`Allow`), and JSON errors. Every operation goes through `Control`, every read through the
 * engine snapshot; no input can crash the process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminConfig } from '../config/types.js';
import type { Control } from '../engine/control.js';
import type { Engine } from '../engine/engine.js';
import { httpStatusFor, VeloError } from '../errors.js';
import { VeloMetrics } from '../metrics/prometheus.js';
import { workerRoutes } from './routes/workers.js';
import type { EngineSnapshot } from '../metrics/snapshot.js';
import { checkBearer, isLoopbackHost } from './auth.js';
import { DISCARD_LIMITS, discardBody, hasBody, MAX_ADMIN_BODY_BYTES, readBody } from './read-body.js';
import { checkCrossOrigin, checkHost, checkJsonBody } from './request-guard.js';
import { AdminHttpError, type AdminContext, type AdminMethod, type AdminReply, type AdminRoute } from './route.js';
import { backendRoutes } from './routes/backends.js';
import { clusterRoutes } from './routes/cluster.js';
import { configRoutes } from './routes/config.js';
import { eventRoutes } from './routes/events.js';
import { logRoutes } from './routes/logs.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { poolRoutes } from './routes/pools.js';
import { reloadRoutes } from './routes/reload.js';
import { strategyRoutes } from './routes/strategy.js';

/** Every route of the admin API, in one table. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [...healthRoutes, ...poolRoutes, ...backendRoutes, ...strategyRoutes, ...reloadRoutes, ...configRoutes, ...eventRoutes, ...logRoutes, ...metricsRoutes, ...workerRoutes, ...clusterRoutes];

/**
 * The sampler refreshes the snapshot every 250 ms; one older than this means its timer is off,
 * so it is rebuilt. Rebuilding more often would add short intervals to the dashboard's rates.
 */
const MAX_SNAPSHOT_AGE_MS = 1000;

/** A running admin server. */
export interface AdminServer {
  /** The bound address (port 0 resolved). */
  address: { host: string; port: number };
  /** Base URL, e.g. `http://127.0.0.1:8407`. */
  url: string;
  metrics: VeloMetrics;
  /** Stops listening, closes open connections and detaches the metrics hooks. */
  close(): Promise<void>;
}

/** Options beyond the admin config; `env` defaults to `process.env` (for `VELO_ADMIN_TOKEN`). */
export interface AdminServerOptions {
  env?: NodeJS.ProcessEnv;
  metrics?: VeloMetrics;
}

interface Match {
  route: AdminRoute;
  params: Record<string, string>;
}

function matchRoute(segments: string[]): Match | undefined {
  for (const route of ADMIN_ROUTES) {
    const pattern = route.path.split('/').slice(1);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((p, i) => {
      if (p.startsWith(':')) params[p.slice(1)] = segments[i]!;
      return p.startsWith(':') || p === segments[i];
    });
    if (matches) return { route, params };
  }
  return undefined;
}

function allowed(route: AdminRoute): string[] {
  const methods = Object.keys(route.methods);
  return route.methods.GET !== undefined ? [...methods, 'HEAD'] : methods;
}

function pathSegments(rawUrl: string): string[] {
  const path = rawUrl.split('?', 1)[0]!.replace(/\/+$/, '');
  try {
    return path.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new AdminHttpError(400, 'the request path is not valid percent-encoding');
  }
}

/**
 * Writes `reply`. When the request's body was not read (refused before, or too large), the
 * connection is closed after it, but only once the body has been read and dropped (bounded by
 * `DISCARD_LIMITS`): closing with unread data would reset the connection and lose the answer
 * at a client still sending.
 */
function send(req: http.IncomingMessage, res: http.ServerResponse, reply: AdminReply): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
  const payload = reply.text ? reply.text.content : JSON.stringify(reply.body ?? {}, null, 2) + '\n';
  headers['content-type'] = reply.text ? reply.text.contentType : 'application/json; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(payload));
  const unread = hasBody(req) && !req.readableEnded;
  if (unread) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  if (!unread) return void res.end(payload);
  res.write(payload);
  void discardBody(req, DISCARD_LIMITS).then(() => res.end());
}

function errorReply(err: unknown): AdminReply {
  if (err instanceof AdminHttpError) return { status: err.status, body: { error: err.message, ...err.extra }, headers: err.headers };
  if (err instanceof VeloError) return { status: httpStatusFor(err), body: { error: err.message, code: err.code } };
  return { status: 500, body: { error: 'internal error' } };
}

/** Handlers see the sampler's snapshot, rebuilt first after any engine event (a change) or when stale. */
function createContext(engine: Engine, control: Control, metrics: VeloMetrics): { ctx: AdminContext; detach: () => void } {
  let dirty = true;
  const offEvents = engine.events.subscribe(() => {
    dirty = true;
  });
  const offTicks = engine.sampler.subscribe(() => {
    dirty = false;
  });
  const snapshot = (): EngineSnapshot => {
    const current = engine.snapshot;
    if (!dirty && engine.wallClock() - current.takenAt <= MAX_SNAPSHOT_AGE_MS) return current;
    return engine.sampler.tick();
  };
  return {
    ctx: { engine, control, metrics, snapshot },
    detach: () => {
      offEvents();
      offTicks();
    },
  };
}

async function handle(ctx: AdminContext, token: string | undefined, bindHost: string, req: http.IncomingMessage): Promise<AdminReply> {
  const refused = checkHost(req, bindHost, token !== undefined) ?? checkCrossOrigin(req);
  if (refused !== undefined) throw refused;
  if (req.method === 'OPTIONS') {
    // CORS preflights are never granted: no Access-Control-* header, ever (Fetch §3.2.2 then fails the request).
    throw new AdminHttpError(405, 'OPTIONS is not supported: the admin API answers no CORS preflight', { allow: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] }, { allow: 'GET, HEAD, POST, PUT, DELETE' });
  }
  const failure = checkBearer(req.headers.authorization, token);
  if (failure !== undefined) {
    const reason = failure === 'missing' ? 'an admin token is required: send Authorization: Bearer <token>' : failure === 'malformed' ? 'the Authorization header must be "Bearer <token>"' : 'the admin token is wrong';
    throw new AdminHttpError(401, reason, { reason: failure }, { 'www-authenticate': 'Bearer realm="velo"' });
  }
  const method = (req.method ?? 'GET') as AdminMethod;
  const segments = pathSegments(req.url ?? '/');
  const match = matchRoute(segments);
  if (match === undefined) throw new AdminHttpError(404, `no admin route ${method} /${segments.join('/')}`, { routes: ADMIN_ROUTES.map((r) => r.path) });
  const handler = match.route.methods[method] ?? (method === 'HEAD' ? match.route.methods.GET : undefined);
  if (handler === undefined) {
    const allow = allowed(match.route).join(', ');
    throw new AdminHttpError(405, `${method} is not allowed on ${match.route.path} (allowed: ${allow})`, { allow: allowed(match.route) }, { allow });
  }
  const notJson = checkJsonBody(req);
  if (notJson !== undefined) throw notJson;
  const raw = await readBody(req, MAX_ADMIN_BODY_BYTES);
  if (raw === 'too-large') throw new AdminHttpError(413, `the body is larger than ${MAX_ADMIN_BODY_BYTES} bytes`, { maxBytes: MAX_ADMIN_BODY_BYTES });
  if (raw === 'aborted') throw new AdminHttpError(400, 'the request body was cut short');
  let body: unknown;
  if (match.route.body && raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new AdminHttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const query = new URL(req.url ?? '/', 'http://admin.invalid').searchParams;
  const reply = await handler(ctx, { params: match.params, body, query });
  // A change is answered once it is in force on every worker (control.ts `settled`).
  if (method !== 'GET' && method !== 'HEAD') await ctx.control.settled();
  return reply;
}

/**
 * Starts the admin API for `engine` on `config.host:config.port`; resolves once bound. Refuses
 * (rejects) to listen off loopback without a token, from `config.token` or `$VELO_ADMIN_TOKEN`.
 */
export async function startAdminServer(engine: Engine, control: Control, config: AdminConfig, options: AdminServerOptions = {}): Promise<AdminServer> {
  const envToken = (options.env ?? process.env).VELO_ADMIN_TOKEN;
  const token = config.token ?? (envToken !== undefined && envToken !== '' ? envToken : undefined);
  if (token === undefined && !isLoopbackHost(config.host)) {
    throw new VeloError('E_CONFIG', `the admin API would listen on ${config.host} without a token; set admin.token or VELO_ADMIN_TOKEN`);
  }
  const metrics = options.metrics ?? new VeloMetrics(engine);
  const { ctx, detach } = createContext(engine, control, metrics);
  const server = http.createServer((req, res) => {
    handle(ctx, token, config.host, req)
      .catch((err: unknown) => {
        if (!(err instanceof AdminHttpError || err instanceof VeloError)) engine.logger.error('admin request failed', { err, method: req.method, url: req.url });
        return errorReply(err);
      })
      .then((reply) => send(req, res, reply))
      .catch((err: unknown) => {
        engine.logger.error('admin response failed', { err });
        res.destroy();
      });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    detach();
    if (options.metrics === undefined) metrics.close();
    throw err;
  });
  server.on('error', (err) => engine.logger.error('admin server error', { err }));
  const port = (server.address() as AddressInfo).port;
  const host = config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    address: { host, port },
    url,
    metrics,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        detach();
        if (options.metrics === undefined) metrics.close();
      });
      return closing;
    },
  };
}
