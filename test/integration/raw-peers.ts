/**
 * Raw TCP peers for protocol tests: backends that write exact bytes, and a client that reads
 * until the connection ends. Everything listens on 127.0.0.1 port 0 and is closed at teardown.
 */
import net from 'node:net';
import http from 'node:http';
import type { ExecutionContext } from 'ava';

export interface RawBackend {
  url: string;
  server: net.Server;
  /** Sockets currently open on the backend side. */
  open(): number;
  /** Every connection ever accepted. */
  accepted: number;
}

/** A TCP backend; `onConnection` gets each accepted socket. */
export async function rawBackend(t: ExecutionContext, onConnection: (socket: net.Socket, index: number) => void): Promise<RawBackend> {
  const sockets = new Set<net.Socket>();
  const backend: RawBackend = { url: '', server: net.createServer({ allowHalfOpen: true }), open: () => sockets.size, accepted: 0 };
  backend.server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Like most servers: a peer's FIN ends the connection.
    socket.on('end', () => socket.end());
    onConnection(socket, backend.accepted++);
    // A silent peer still reads, so it notices velo closing the connection.
    if (socket.listenerCount('data') === 0) socket.resume();
  });
  await new Promise<void>((r) => backend.server.listen(0, '127.0.0.1', r));
  backend.url = `http://127.0.0.1:${(backend.server.address() as net.AddressInfo).port}`;
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => backend.server.close(() => r()));
  });
  return backend;
}

/** Reads request heads off `socket` and calls `onRequest` with each head's text (bodies are not expected). */
export function onRequestHeads(socket: net.Socket, onRequest: (head: string, n: number) => void): void {
  let buffered = '';
  let n = 0;
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      onRequest(head, n++);
    }
  });
}

/** Lower-cased header map of a request or response head. */
export function headersOf(head: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

/** Sends `payload` on a new connection and resolves with every byte received until it closes (or `timeoutMs`). */
export function exchange(port: number, payload: string | Buffer, timeoutMs = 5000, halfClose = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => (halfClose ? socket.end(payload) : socket.write(payload)));
    let out = '';
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** A connection that collects what it receives; `until` polls for a substring. */
export interface Conversation {
  socket: net.Socket;
  received(): string;
  until(text: string | RegExp, timeoutMs?: number): Promise<string>;
  closed: Promise<void>;
}

export function converse(t: ExecutionContext, port: number): Conversation {
  // Half-open capable: a FIN from velo does not end this side by itself.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  return {
    socket,
    received: () => text,
    closed,
    async until(want, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      const hit = (): boolean => (typeof want === 'string' ? text.includes(want) : want.test(text));
      while (!hit()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(want)}; got ${JSON.stringify(text)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return text;
    },
  };
}

/** An HTTP server whose 'upgrade' handler the test supplies; records each handshake's headers. */
export async function upgradeBackend(
  t: ExecutionContext,
  onUpgrade: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void,
): Promise<{ url: string; heads: http.IncomingHttpHeaders[]; server: http.Server }> {
  const heads: http.IncomingHttpHeaders[] = [];
  const upgraded = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.end('plain\n'));
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    heads.push(req.headers);
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    onUpgrade(req, socket, head);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    for (const s of upgraded) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, heads, server };
}

/** A plain 101 that names the backend; the socket is then the test's. */
export function accept101(socket: net.Socket, name = 'b'): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\nX-Backend: ${name}\r\n\r\n`);
}

export const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n';
