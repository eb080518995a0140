/**
 * A request body that streams upstream as it arrives and keeps a copy, up to a limit, so a
 * retry can replay it byte for byte. Past the limit it keeps streaming but is no longer
 * replayable (Envoy's retry buffer behaves the same way).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { http2HasBody } from './http2-request.js';

export class RequestBody {
  private readonly saved: Buffer[] = [];
  private savedBytes = 0;
  private overflow = false;
  private iterator: AsyncIterator<Buffer> | undefined;
  private done = false;
  /** True once any attempt has pulled a byte from the client. */
  started = false;
  bytes = 0;

  /** `req` is the client's body stream (the request itself, or what `upgradeBody` builds). */
  constructor(
    private readonly req: Readable,
    private readonly maxBufferBytes: number,
  ) {}

  /**
   * True when a new attempt can send the whole body again: nothing was read yet, or all of it
   * was read and kept. A half-read body is not replayed, so two attempts never race for it.
   */
  get replayable(): boolean {
    return !this.started || (this.done && !this.overflow);
  }

  /** A fresh stream of the body for one attempt: what was saved, then the rest from the client. */
  source(): AsyncIterable<Buffer> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.started = true;
        for (const chunk of self.saved) yield chunk;
        self.iterator ??= self.req.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        while (!self.done) {
          const { value, done } = await self.iterator.next();
          if (done) {
            self.done = true;
            break;
          }
          self.bytes += value.length;
          if (!self.overflow) {
            if (self.savedBytes + value.length <= self.maxBufferBytes) {
              self.saved.push(value);
              self.savedBytes += value.length;
            } else {
              self.overflow = true;
              self.saved.length = 0;
            }
          }
          yield value;
        }
      },
    };
  }
}

/**
 * True when the request carries a body (RFC 9112 section 6.3; on HTTP/2, when its HEADERS
 * frame did not end the stream, RFC 9113 section 8.1).
 */
export function hasRequestBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) return http2HasBody(req);
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/**
 * The body of a request Node handed over as an upgrade (its parser is gone): `head` and then
 * the socket, up to Content-Length bytes. Undefined when there is no body; 'unsupported' for a
 * chunked body, which velo does not decode on a raw socket.
 */
export function upgradeBody(req: IncomingMessage, socket: Socket, head: Buffer, maxBufferBytes: number): RequestBody | undefined | 'unsupported' {
  if (!hasRequestBody(req)) return undefined;
  if (req.headers['transfer-encoding'] !== undefined) return 'unsupported';
  let left = Number(req.headers['content-length']);
  const stream = new PassThrough();
  const feed = (chunk: Buffer): void => {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    if (!stream.write(part)) socket.pause();
    if (left <= 0) {
      socket.off('data', feed);
      stream.end();
    }
  };
  stream.on('drain', () => socket.resume());
  socket.once('close', () => {
    if (left > 0) stream.destroy(new Error('client closed before the end of the body'));
  });
  if (head.length > 0) feed(head);
  if (left > 0) socket.on('data', feed);
  return new RequestBody(stream, maxBufferBytes);
}
