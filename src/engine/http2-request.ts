/**
 * What an HTTP/2 request (node:http2's compatibility `Http2ServerRequest`, handed to the same
 * pipeline as an HTTP/1.1 `IncomingMessage`) needs before it is forwarded, and how its response
 * head is written. Backends are
 * spoken to in HTTP/1.1 unless the pool says otherwise, so the request is put in HTTP/1.1
 * terms here, once (RFC 9113 section 8.3 and 8.2.3).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/** True for node:http2's compatibility response (an HTTP/2 stream), which velo passes as a ServerResponse. */
export function isHttp2Response(res: ServerResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}

/** True for a request that arrived on an HTTP/2 stream. */
export function isHttp2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}

/**
 * Gives an HTTP/2 request the Host HTTP/1.1 code reads: `:authority` when the client sent no
 * Host field (RFC 9113 section 8.3.1: clients should use `:authority` instead of Host). A
 * client that sent both keeps its Host here; the authority velo forwards is `:authority`.
 * Returns the `:authority` (undefined when absent).
 */
export function adaptHttp2Request(req: IncomingMessage): string | undefined {
  const authority = req.headers[':authority'];
  const value = typeof authority === 'string' && authority !== '' ? authority : undefined;
  if (req.headers.host === undefined && value !== undefined) req.headers.host = value;
  return value;
}

/**
 * The raw header list of an HTTP/2 request as an HTTP/1.1 message would carry it: pseudo-header
 * fields (`:method`, `:path`, `:authority`, `:scheme`) dropped, and the Cookie field lines a
 * client may split per cookie joined into one with `; ` (RFC 9113 section 8.2.3), since an
 * HTTP/1.1 recipient expects a single Cookie line (RFC 6265 section 5.4).
 */
export function http1RawHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (name === 'cookie') {
      cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]!}`;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (cookie !== undefined) out.push('cookie', cookie);
  return out;
}

/** True when the HTTP/2 request has a body: its HEADERS frame did not end the stream. */
export function http2HasBody(req: IncomingMessage): boolean {
  return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
}

/**
 * Starts an HTTP/2 client's response with the backend's status and `headers` (a flat list). A
 * gRPC Trailers-Only answer (`grpc-status` in the headers, PROTOCOL-HTTP2.md) is only set, to go
 * out with `res.end()` as one HEADERS frame with END_STREAM: Node's compatibility `writeHead()`
 * sends the frame at once without it, and the empty end that follows carries no grpc-status,
 * which gRPC clients read as an INTERNAL error.
 */
export function writeHttp2Head(res: ServerResponse, status: number, headers: string[]): void {
  let trailersOnly = false;
  for (let i = 0; i < headers.length && !trailersOnly; i += 2) trailersOnly = headers[i]!.toLowerCase() === 'grpc-status';
  if (!trailersOnly) {
    res.writeHead(status, headers);
    return;
  }
  const fields = new Map<string, string[]>();
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), headers[i + 1]!]);
  }
  res.statusCode = status;
  for (const [name, values] of fields) res.setHeader(name, values.length === 1 ? values[0]! : values);
}
