/**
 * Raw TCP clients for traffic no HTTP client library will send: malformed and smuggling
 * requests, headers dribbled one byte at a time, and connections that just sit there.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

/** Sends `bytes` on a fresh connection; resolves with everything read until the peer closes or `timeoutMs` passes. */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 3000): Promise<{ text: string; closedByPeer: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    let closedByPeer = false;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => (closedByPeer = true));
    socket.on('error', () => (closedByPeer = true));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByPeer });
    });
  });
}

/** The status codes of every HTTP/1.x response in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

/** Opens `count` TCP connections to `port` (in batches, so the listen backlog never overflows). */
export async function openConnections(port: number, count: number, batch = 250): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const opened = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    for (const s of opened) s.on('error', () => {});
    sockets.push(...opened);
  }
  return sockets;
}

/** Destroys `sockets` and resolves once every one is closed. */
export async function closeAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => (s.destroyed && s.closed ? undefined : new Promise<void>((resolve) => s.once('close', () => resolve()).destroy()))));
}

/** A backend that records every request it parses (method, url, body length), on 127.0.0.1:0. */
export interface RecordingBackend {
  url: string;
  port: number;
  seen: Array<{ method: string; url: string; bodyBytes: number }>;
  server: http.Server;
}

export async function startRecordingBackend(t: ExecutionContext): Promise<RecordingBackend> {
  const seen: RecordingBackend['seen'] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (d: Buffer) => (bodyBytes += d.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', bodyBytes });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, seen, server };
}
