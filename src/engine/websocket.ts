/**
 * WebSocket (and any HTTP Upgrade) tunnelling through http-proxy-3. The backend is picked by
 * the same router and strategy as plain requests and counts the tunnel as in flight until
 * either side closes; sockets are tracked here because http-proxy-3's own `close` event is
 * unreliable on abrupt disconnects.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { Engine } from './engine.js';
import { normalizeIp } from '../resilience/ip-filter.js';
import type { Upstream } from '../upstream/upstream.js';

function rejectUpgrade(socket: Socket, status: number, message: string, headers: Record<string, string> = {}): void {
  if (socket.writable) {
    const body = JSON.stringify({ error: message });
    const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
    );
  }
  // destroySoon, not end: the server allows half-open sockets, and a client that never closes
  // its side would otherwise keep this one (and a graceful shutdown) waiting.
  socket.destroySoon();
}

export class WebSocketTunnel {
  private readonly proxy = createProxyServer({ xfwd: true, ws: true });
  /** Open tunnels and the backend each one goes to. */
  private readonly open = new Map<Socket, Upstream>();

  constructor(private readonly engine: Engine) {
    // Without an error listener http-proxy-3 throws and takes the process down.
    this.proxy.on('error', (_err: Error, _req: unknown, target: unknown) => {
      (target as Socket | undefined)?.destroy?.();
    });
  }

  get size(): number {
    return this.open.size;
  }

  handle(req: IncomingMessage, socket: Socket, head: Buffer): void {
    try {
      socket.on('error', () => socket.destroy());
      const engine = this.engine;
      if (engine.shuttingDown) return rejectUpgrade(socket, 503, 'shutting down');
      if (String(req.headers.upgrade).toLowerCase() !== 'websocket') {
        // http-proxy-3 tunnels WebSocket only; anything else (h2c) would get an empty reply.
        return rejectUpgrade(socket, 400, 'only WebSocket upgrades are tunnelled');
      }
      const admission = engine.admit(req, normalizeIp(socket.remoteAddress));
      if (!admission.ok) return rejectUpgrade(socket, admission.status, admission.message, admission.headers);
      const { pool, clientIp } = admission;
      const upstream = pool.pick({
        clientIp,
        url: req.url ?? '/',
        now: engine.clock(),
        random: engine.random,
      });
      if (upstream === undefined) return rejectUpgrade(socket, 503, 'no backend available');
      upstream.inFlight += 1;
      this.open.set(socket, upstream);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        upstream.release();
        this.open.delete(socket);
      };
      socket.once('close', release);
      // The server socket is half-open capable; a client FIN would otherwise leave the tunnel open.
      socket.once('end', () => socket.destroy());
      this.proxy.ws(req, socket, head, { target: upstream.url.origin }, () => {
        release();
        socket.destroy();
      });
    } catch (err) {
      this.engine.logger.error('upgrade failed', { err });
      socket.destroy();
    }
  }

  closeAll(): void {
    for (const s of this.open.keys()) s.destroy();
  }

  /** Closes the tunnels to one backend (it was removed and its grace period is over). */
  closeFor(upstream: Upstream): void {
    for (const [s, u] of this.open) if (u === upstream) s.destroy();
  }
}
