/**
 * What keeps a web page the operator happens to open from using the admin API through their
 * browser (CSRF, DNS rebinding). The API is for the CLI, scripts and Prometheus, none of which
 * is a browser, so it can refuse everything browsers mark as coming from elsewhere:
 *
 * 1. Host (only without a token): a DNS-rebinding page reaches 127.0.0.1 under its own name,
 *    and the browser sends that name as Host. So without a token the Host's name must be a
 *    loopback name (`localhost`, `*.localhost` per RFC 6761 §6.3, 127.0.0.0/8, ::1) or the
 *    admin's own bind address; the port is not checked (an SSH tunnel may change it). With a
 *    token, Host is not checked: a page can neither read nor send the token, and off loopback
 *    the operator may put any name in front of the API.
 * 2. Origin (RFC 6454 §7; Fetch sends it on every POST, PUT, DELETE and cross-origin request):
 *    when present it must be `http://` or `https://` followed by the request's own Host;
 *    anything else, `null` included (sandboxed frames, file: pages), is foreign. A same-site
 *    page on another port (`localhost:3000`) is foreign too.
 * 3. `Sec-Fetch-Site: cross-site` (W3C Fetch Metadata, OWASP CSRF Prevention Cheat Sheet):
 *    refused even without an Origin (e.g. a cross-site `<img>` or navigation GET).
 * 4. A body, or a declared Content-Type, must be `application/json`: an HTML form or a
 *    CORS "simple request" cannot send that type without a preflight, and a preflight is
 *    never granted (OPTIONS is answered 403 or 405, with no `Access-Control-*` header).
 *
 * Every refusal is an `AdminHttpError` (403 or 415) with a JSON `reason`.
 */
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './auth.js';
import { hasBody } from './read-body.js';
import { AdminHttpError } from './route.js';

/** The host name of a Host header value, lower-cased, without port, brackets or a trailing dot. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(h);
  const name = bracketed !== null ? bracketed[1]! : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/**
 * 403 when no token is configured and the Host header does not name this machine (rule 1).
 * `bindHost` is the admin's `host` setting (e.g. `127.0.0.1`).
 */
export function checkHost(req: IncomingMessage, bindHost: string, tokenConfigured: boolean): AdminHttpError | undefined {
  if (tokenConfigured) return undefined;
  const name = hostName(req.headers.host ?? '');
  if (name !== '' && (isLoopbackHost(name) || name.endsWith('.localhost') || name === hostName(bindHost))) return undefined;
  return new AdminHttpError(403, `the Host header "${req.headers.host ?? ''}" does not name this machine; without an admin token only loopback names are accepted (DNS rebinding protection)`, {
    reason: 'host',
  });
}

/** 403 when the request comes from a foreign origin or is marked cross-site (rules 2 and 3). */
export function checkCrossOrigin(req: IncomingMessage): AdminHttpError | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const host = (req.headers.host ?? '').toLowerCase();
    const o = origin.trim().toLowerCase();
    if (host === '' || (o !== `http://${host}` && o !== `https://${host}`)) {
      return new AdminHttpError(403, `cross-origin requests are refused (Origin ${origin} is not this admin API)`, { reason: 'origin' });
    }
  }
  if (req.headers['sec-fetch-site']?.toLowerCase() === 'cross-site') {
    return new AdminHttpError(403, 'cross-site requests are refused (Sec-Fetch-Site: cross-site)', { reason: 'sec-fetch-site' });
  }
  return undefined;
}

/** 415 when the request has a body or a Content-Type and that type is not `application/json` (rule 4). */
export function checkJsonBody(req: IncomingMessage): AdminHttpError | undefined {
  const declared = req.headers['content-type'];
  if (declared === undefined && !hasBody(req)) return undefined;
  const mediaType = (declared ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/json') return undefined;
  return new AdminHttpError(415, `request bodies must be sent as Content-Type: application/json${declared ? `, not ${declared}` : ''}`, { reason: 'content-type' }, { 'accept-post': 'application/json' });
}
