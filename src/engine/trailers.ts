/**
 * A backend's trailer fields (the HTTP/2 trailers gRPC carries its status in, or an HTTP/1.1
 * chunked body's trailer section) passed on to the client before its response ends. An HTTP/2
 * client always gets them; an HTTP/1.1 client only when it sent `TE: trailers` (RFC 9110 section
 * 10.1.4) and the response is chunked, which is how Node's `addTrailers` sends them. Fields that
 * describe framing, routing or the connection never travel as trailers (RFC 9110 section 6.5.1),
 * nor pseudo-header fields (RFC 9113 section 8.1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamTrailers } from './attempt.js';
import { acceptsTrailers } from './grpc.js';
import { isHttp2Response } from './http2-request.js';

const NEVER_TRAILERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'host',
]);

/** The trailer fields worth passing on, or undefined when there are none. */
export function trailerFields(trailers: UpstreamTrailers): Record<string, string | string[]> | undefined {
  if (trailers === null || trailers === undefined) return undefined;
  const out: Record<string, string | string[]> = {};
  let any = false;
  const add = (name: string, value: string): void => {
    const lower = name.toLowerCase();
    if (lower === '' || lower.charCodeAt(0) === 58 /* ':' */ || NEVER_TRAILERS.has(lower)) return;
    const prev = out[lower];
    out[lower] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    any = true;
  };
  if (Array.isArray(trailers)) {
    for (let i = 0; i + 1 < trailers.length; i += 2) {
      const name = trailers[i]!;
      const value = trailers[i + 1]!;
      add(typeof name === 'string' ? name : name.toString('latin1'), typeof value === 'string' ? value : value.toString('latin1'));
    }
  } else {
    for (const [name, value] of Object.entries(trailers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) add(name, v);
    }
  }
  return any ? out : undefined;
}

/** Adds the backend's trailers to `res` when the client can receive them; call before `res.end()`. */
export function relayTrailers(res: ServerResponse, req: IncomingMessage, trailers: UpstreamTrailers): void {
  const fields = trailerFields(trailers);
  if (fields === undefined) return;
  if (!isHttp2Response(res) && !acceptsTrailers(req.headers.te)) return;
  try {
    res.addTrailers(fields);
  } catch {
    // A field Node refuses to write (bad characters) is dropped; the response itself ends well.
  }
}
