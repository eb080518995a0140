/**
 * The RFC 9112 "MUST reject" rules Node's parser (llhttp, Node 20) lets through, checked before
 * a request or upgrade is admitted. What llhttp already refuses (and `clientError` answers 400):
 * a missing Host on HTTP/1.1 (Node's `requireHostHeader`), garbage request lines, bad header
 * names, a Transfer-Encoding whose last coding is not `chunked`, Content-Length together with
 * Transfer-Encoding, bad chunk framing. What it accepts and velo must refuse is below.
 */
import type { IncomingMessage } from 'node:http';

/**
 * `Host = uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): an IP-literal in brackets,
 * or a reg-name / IPv4 of unreserved, sub-delims and percent-encoded octets. Empty is valid
 * (RFC 9112 §3.2: the field is sent empty when the target has no authority).
 */
const HOST_FIELD = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

/**
 * Why `req` must be answered 400 rather than forwarded, or undefined when it may go on. The
 * message is safe to return to the client. Pure: looks only at the parsed request line and
 * raw headers; never throws.
 *
 * - No HTTP version in the request line (`GET /`): Node parses it as HTTP/0.9; RFC 9112 §2.3
 *   and §3 require `request-line = method SP request-target SP HTTP-version`, and a 0.9
 *   request has no headers, so it could not be forwarded with velo's guarantees anyway.
 * - More than one Host field line, or a Host value that is not `host[:port]` (e.g. `a b`):
 *   RFC 9112 §3.2, "A server MUST respond with a 400 (Bad Request) status code to any
 *   request message that contains more than one Host header field line or a Host header
 *   field with an invalid field value". Node keeps the first of two Host lines silently.
 * - A Transfer-Encoding other than exactly `chunked` (e.g. `identity, chunked`): velo
 *   implements no other coding (`identity` was removed from the registry by RFC 7230), and a
 *   list of codings is how request smuggling confuses a proxy and its backend about where a
 *   body ends (RFC 9112 §6.1, §6.3 and §11.2). RFC 9112 §6.1 permits 501 for an unknown
 *   coding; velo answers 400 like for any other framing it will not forward.
 */
export function requestSyntaxProblem(req: IncomingMessage): string | undefined {
  if (req.httpVersionMajor < 1) return 'the request line has no HTTP version (HTTP/0.9 is not supported)';
  const raw = req.rawHeaders;
  let hosts = 0;
  let codings: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host') {
      hosts += 1;
      if (hosts > 1) return 'more than one Host header';
      if (!HOST_FIELD.test(raw[i + 1]!)) return 'the Host header is not a valid host[:port]';
    } else if (name === ':authority') {
      // HTTP/2's Host (RFC 9113 section 8.3.1), held to the same grammar.
      if (!HOST_FIELD.test(raw[i + 1]!)) return 'the :authority is not a valid host[:port]';
    } else if (name === 'transfer-encoding') {
      codings ??= [];
      for (const c of raw[i + 1]!.split(',')) codings.push(c.trim().toLowerCase());
    }
  }
  if (codings !== undefined && (codings.length !== 1 || codings[0] !== 'chunked')) {
    return 'Transfer-Encoding must be exactly "chunked"';
  }
  return undefined;
}
