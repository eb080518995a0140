import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

// https://www.rfc-editor.org/rfc/rfc6455#section-1.3
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const Opcode = { Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2). */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** Encodes one unmasked server frame with the FIN bit and opcode given in `firstByte`. */
export function encodeFrame(firstByte: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = firstByte;
  if (len < 126) {
    head[1] = len;
  } else if (len < 0x10000) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Completes the handshake on `socket` and echoes every data frame back unmasked until a close frame; answers 400 to anything that is not a WebSocket upgrade. */
export function acceptWebSocketEcho(req: IncomingMessage, socket: Duplex, head: Buffer, name: string): void {
  socket.on('error', () => socket.destroy());
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${webSocketAccept(key)}\r\nX-Backend: ${name}\r\n\r\n`,
  );
  let buffered = head;
  let closing = false;
  const drain = (): void => {
    while (!closing && buffered.length >= 2) {
      const masked = (buffered[1] & 0x80) !== 0;
      let len = buffered[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffered.length < 4) return;
        len = buffered.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffered.length < 10) return;
        len = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const maskOffset = offset;
      if (masked) offset += 4;
      if (buffered.length < offset + len) return;
      const payload = Buffer.from(buffered.subarray(offset, offset + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buffered[maskOffset + (i % 4)];
      const first = buffered[0];
      buffered = buffered.subarray(offset + len);
      const opcode = first & 0x0f;
      if (opcode === Opcode.Close) {
        closing = true;
        socket.end(encodeFrame(0x80 | Opcode.Close, payload.subarray(0, 125)));
        return;
      }
      if (opcode === Opcode.Ping) socket.write(encodeFrame(0x80 | Opcode.Pong, payload));
      else if (opcode !== Opcode.Pong) socket.write(encodeFrame(first & 0x8f, payload));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    drain();
  });
  // A client that goes away without a close frame (a FIN): end our side too, as a WebSocket
  // server does, instead of holding the connection half-open forever.
  socket.on('end', () => socket.end());
  drain();
}
