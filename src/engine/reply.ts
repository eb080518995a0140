/**
 * velo's own responses (404, 502, 503, 504, ...): a short JSON body `{error, request_id}` and a
 * newline (so `curl` leaves the prompt on its own line), never cached; to a gRPC request, the
 * same answer as gRPC statuses (src/engine/grpc-reply.ts). A response already started cannot
 * change status, so it is cut instead.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { isGrpcRequest, writeGrpcError } from './grpc-reply.js';
import { isHttp2Response } from './http2-request.js';

/**
 * Never throws: a response that cannot be written is cut. Returns the body bytes written (0
 * when cut), for the access log's `bytes_out`.
 */
export function sendError(res: ServerResponse, status: number, message: string, requestId: string, headers?: Record<string, string>): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  if (isGrpcRequest(res.req)) {
    try {
      return writeGrpcError(res, isHttp2Response(res), status, message, requestId, headers);
    } catch {
      res.destroy();
      return 0;
    }
  }
  const body = JSON.stringify({ error: message, request_id: requestId }) + '\n';
  try {
    const fields: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...headers,
    };
    if (isHttp2Response(res)) {
      // HTTP/2 has neither reason phrases nor Connection (RFC 9113 sections 8.3.2 and 8.2.2).
      delete fields['connection'];
      res.writeHead(status, fields);
    } else {
      // An explicit reason phrase: a failed writeHead may have left a backend's bad one behind.
      res.writeHead(status, STATUS_CODES[status] ?? 'Error', fields);
    }
    res.end(body);
    return Buffer.byteLength(body);
  } catch {
    res.destroy();
    return 0;
  }
}
