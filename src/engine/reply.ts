/**
 * velo's own responses (404, 502, 503, 504, ...): a short JSON body `{error, request_id}` and a
 * newline (so `curl` leaves the prompt on its own line), never cached. A response already
 * started cannot change status, so it is cut instead.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * Never throws: a response that cannot be written is cut. Returns the body bytes written (0
 * when cut), for the access log's `bytes_out`.
 */
export function sendError(res: ServerResponse, status: number, message: string, requestId: string, headers?: Record<string, string>): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const body = JSON.stringify({ error: message, request_id: requestId }) + '\n';
  try {
    // An explicit reason phrase: a failed writeHead may have left a backend's bad one behind.
    res.writeHead(status, STATUS_CODES[status] ?? 'Error', {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...headers,
    });
    res.end(body);
    return Buffer.byteLength(body);
  } catch {
    res.destroy();
    return 0;
  }
}
