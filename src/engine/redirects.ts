/**
 * Per-pool redirects (`redirects:`): plain HTTP to https, and one canonical host name (a fixed
 * `canonical_host`, or `strip_www`). velo answers them itself, after admission (ip_filter,
 * syntax, routing) and before rate limiting or picking a backend. The Location is absolute and
 * built only from the scheme, the validated Host and the raw request-target, so a client
 * cannot make it point anywhere else or smuggle a header into it.
 */
import type { ServerResponse } from 'node:http';

/** A pool's `redirects:` as the config reads it (src/config/schema-redirects.ts). */
export interface RedirectConfig {
  /**
   * Requests that reached velo over plain HTTP go to `https://`. A no-op when velo's own
   * listener is TLS (it has only one listener), and for requests whose trusted proxy says
   * `X-Forwarded-Proto: https` (a TLS terminator in front would otherwise loop).
   */
  https: boolean;
  /** The port put in an https Location (`https_port`); 443 is left out. */
  httpsPort: number;
  /** Every request whose host is not this one (lower-case, no port) is sent to it. */
  canonicalHost?: string;
  /** `www.example.com` is sent to `example.com` (ignored when `canonicalHost` is set; the config refuses both). */
  stripWww: boolean;
}

/** velo's answer: a redirect, or a 400 when no Location can be built. */
export type RedirectAnswer =
  | { status: 301 | 308; message: string; location: string }
  | { status: 400; message: string; location?: undefined };

/**
 * 301 for GET and HEAD, 308 for any other method: a 301 lets a client change POST into GET
 * (RFC 9110 section 15.4.2), a 308 keeps the method and body (section 15.4.9).
 */
export function redirectStatus(method: string): 301 | 308 {
  return method === 'GET' || method === 'HEAD' ? 301 : 308;
}

/**
 * The scheme the client used: the listener's, unless it is plain and a trusted proxy's
 * X-Forwarded-Proto (its first value: the proxy nearest the client) says `https`.
 */
export function clientScheme(listenerProto: 'http' | 'https', trustedPeer: boolean, forwardedProto: string | string[] | undefined): 'http' | 'https' {
  if (listenerProto === 'https' || !trustedPeer || forwardedProto === undefined) return listenerProto;
  const first = (Array.isArray(forwardedProto) ? forwardedProto[0]! : forwardedProto).split(',')[0]!.trim().toLowerCase();
  return first === 'https' ? 'https' : 'http';
}

/**
 * `host[:port]` (Host header or absolute-form authority) split, host lower-cased; undefined
 * unless the host is a DNS name or IPv4 (letters, digits, `-`, `.`, `_`) or a bracketed IPv6
 * literal. Admission allows more of RFC 3986's reg-name (sub-delims, %-escapes); none of that
 * goes into a Location.
 */
export function splitAuthority(authority: string): { host: string; port: string } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9\-._]+)(?::(\d{0,5}))?$/i.exec(authority);
  if (m === null) return undefined;
  return { host: m[1]!.toLowerCase(), port: m[2] ?? '' };
}

/** A request-target that may go into a Location as it is: no space, control character or DEL. */
const LOCATION_SAFE = /^\/[\x21-\x7e\x80-\xff]*$/;

/**
 * The redirect `config` asks for, or undefined when the request is already where it should be.
 * `authority` is the Host (or the absolute-form authority, already validated by admission),
 * `path` the origin-form request-target exactly as sent (query included), `scheme` what the
 * client used (`clientScheme`).
 */
export function redirectFor(config: RedirectConfig, method: string, authority: string | undefined, path: string, scheme: 'http' | 'https'): RedirectAnswer | undefined {
  const toHttps = config.https && scheme === 'http';
  const sent = authority !== undefined && authority !== '' ? splitAuthority(authority) : undefined;
  let host = sent?.host;
  if (config.canonicalHost !== undefined) host = config.canonicalHost;
  else if (config.stripWww && host !== undefined && host.startsWith('www.') && host.length > 4) host = host.slice(4);
  const moved = host !== undefined && host !== sent?.host;
  if (!toHttps && !moved) return undefined;
  if (host === undefined) return { status: 400, message: 'a Host header is needed to redirect this request' };
  if (!LOCATION_SAFE.test(path)) return { status: 400, message: 'the request-target cannot be redirected' };
  const port = toHttps ? (config.httpsPort === 443 ? '' : String(config.httpsPort)) : (sent?.port ?? '');
  const location = `${toHttps ? 'https' : scheme}://${host}${port !== '' ? `:${port}` : ''}${path}`;
  const status = redirectStatus(method);
  return { status, message: status === 301 ? 'moved permanently' : 'permanent redirect', location };
}

/**
 * Writes the redirect: Location, a short JSON body `{location, request_id}` (none for HEAD).
 * Never throws: a response that cannot be written is cut. Returns the body bytes written.
 */
export function sendRedirect(res: ServerResponse, status: 301 | 308, location: string, requestId: string): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const body = JSON.stringify({ location, request_id: requestId }) + '\n';
  try {
    res.writeHead(status, {
      location,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
    });
    res.end(body);
    return res.req?.method === 'HEAD' ? 0 : Buffer.byteLength(body);
  } catch {
    res.destroy();
    return 0;
  }
}
