/**
 * Reads a request body up to a byte limit without ever buffering more than the limit, and
 * discards (bounded) a body that will not be read, so the answer sent before it reaches the
 * client instead of being lost to a TCP reset.
 */
import type { IncomingMessage } from 'node:http';

/** The admin API's body limit; larger bodies are answered 413. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** Resolves to the body, or 'too-large' as soon as it (or its Content-Length) passes `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | 'too-large' | 'aborted'): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        done('too-large');
      } else chunks.push(chunk);
    };
    const onEnd = (): void => done(Buffer.concat(chunks));
    const onError = (): void => done('aborted');
    const onClose = (): void => {
      if (!req.complete) done('aborted');
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** True when the request announces a body: any Transfer-Encoding, or a Content-Length other than 0 (RFC 9112 §6.3). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}

/** How much of an unwanted body velo reads before it closes anyway. */
export interface DiscardLimits {
  /** Bytes read and dropped at most. */
  maxBytes: number;
  /** Milliseconds spent at most. */
  maxMs: number;
}

/**
 * What the admin API reads of a body it refused before closing the connection: enough for a
 * client that sends its whole body before reading the answer (most do) and more than the
 * loopback socket buffers hold, bounded in bytes and time. Closing with unread data makes the
 * kernel send a reset, which discards the answer at the client (Apache's and nginx's
 * "lingering close"; RFC 9112 §9.6).
 */
export const DISCARD_LIMITS: DiscardLimits = { maxBytes: 32 * 1024 * 1024, maxMs: 5_000 };

/**
 * Reads and drops the rest of `req`'s body; resolves once it ended (`ended`), the connection
 * closed (`closed`), or a limit was reached (`limit`). Never rejects.
 */
export function discardBody(req: IncomingMessage, limits: DiscardLimits): Promise<'ended' | 'closed' | 'limit'> {
  if (req.readableEnded) return Promise.resolve('ended');
  return new Promise((resolve) => {
    let size = 0;
    const done = (result: 'ended' | 'closed' | 'limit'): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onClose);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBytes) done('limit');
    };
    const onEnd = (): void => done('ended');
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('limit'), limits.maxMs);
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onClose);
    req.on('close', onClose);
    req.resume();
  });
}
