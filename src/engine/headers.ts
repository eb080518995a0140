/**
 * Header rewriting at the proxy boundary: hop-by-hop headers (RFC 9110 section 7.6.1) and any
 * header named in `Connection` are dropped in both directions; X-Forwarded-For is appended,
 * X-Forwarded-Proto/Host and X-Real-IP are set, X-Request-Id is passed on, and with tracing
 * on, `traceparent` is replaced by velo's (trace-context.ts).
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Node answers `Expect: 100-continue` itself; undici refuses to send it upstream.
  'expect',
]);

/** Headers velo sets itself; a client's own copies are replaced (XFF is appended to). */
const SET_BY_PROXY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'x-request-id']);

export interface ForwardedInfo {
  /** Socket peer address, always appended to X-Forwarded-For. */
  peerIp: string;
  /** The client IP velo trusts (peer, or from XFF when the peer is a trusted proxy). */
  clientIp: string;
  proto: 'http' | 'https';
  requestId: string;
  /** The peer is a trusted proxy: its X-Forwarded-Proto/Host describe the original request. */
  trusted?: boolean;
  /**
   * The authority of an absolute-form request-target: it replaces the client's Host (RFC 9112
   * section 3.2.2: the Host field is ignored and the target's authority used instead).
   */
  authority?: string;
  /**
   * With tracing on: the W3C `traceparent` to send instead of the client's (velo's span as the
   * parent). `traceContinued` false drops the client's `tracestate` too: it belongs to no valid
   * trace (W3C Trace Context section 4.2). Undefined: both pass untouched like any header.
   */
  traceparent?: string;
  traceContinued?: boolean;
}

/**
 * Fields that define the message itself and are kept even when a `Connection` header names
 * them (`Connection: Host` would otherwise route on the client's Host and send the backend
 * undici's). RFC 9110 section 7.6.1 says a sender MUST NOT list such end-to-end fields.
 */
const NEVER_CONNECTION_OPTION = new Set(['host', 'content-length']);

/** Names listed in a Connection header value, lower-cased (they are hop-by-hop too). */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  // Nearly every request says just `keep-alive` or `close`; skip the split for those.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return undefined;
  }
  let tokens: Set<string> | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || NEVER_CONNECTION_OPTION.has(t)) continue;
    (tokens ??= new Set()).add(t);
  }
  return tokens;
}

/** Builds the flat [name, value, ...] header list sent upstream from Node's rawHeaders. */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | undefined, info: ForwardedInfo): string[] {
  const out: string[] = [];
  const extra = connectionTokens(connection);
  let xff: string | undefined;
  let host: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  const trace = info.traceparent;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (HOP_BY_HOP.has(lower) || (extra !== undefined && extra.has(lower))) continue;
    if (trace !== undefined && (lower === 'traceparent' || (lower === 'tracestate' && info.traceContinued !== true))) continue;
    if (SET_BY_PROXY.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'x-forwarded-proto') forwardedProto ??= value;
      else if (lower === 'x-forwarded-host') forwardedHost ??= value;
      continue;
    }
    if (lower === 'host') {
      // A second Host stays in: undici refuses the request and the client gets a 400 (RFC 9112 section 3.2).
      host ??= info.authority ?? value;
      out.push(name, info.authority ?? value);
      continue;
    }
    out.push(name, value);
  }
  if (host === undefined && info.authority !== undefined) {
    host = info.authority;
    out.push('host', host);
  }
  out.push(
    'x-forwarded-for',
    xff === undefined ? info.peerIp : `${xff}, ${info.peerIp}`,
    'x-forwarded-proto',
    (info.trusted === true ? forwardedProto : undefined) ?? info.proto,
    'x-real-ip',
    info.clientIp,
    'x-request-id',
    info.requestId,
  );
  const originalHost = (info.trusted === true ? forwardedHost : undefined) ?? host;
  if (originalHost !== undefined) out.push('x-forwarded-host', originalHost);
  if (trace !== undefined) out.push('traceparent', trace);
  return out;
}

/**
 * Builds the flat header list sent to the client from undici's raw response headers. A 204
 * loses any Content-Length (RFC 9110 section 8.6: a server MUST NOT send one in a 204); a 304
 * keeps it (it describes the selected representation).
 */
export function clientResponseHeaders(raw: readonly Buffer[], status = 200): string[] {
  const out: string[] = [];
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (status === 204 && lower === 'content-length') continue;
    if (lower === 'connection') {
      const tokens = connectionTokens(raw[i + 1]!.toString('latin1'));
      if (tokens !== undefined) extra = extra === undefined ? tokens : new Set([...extra, ...tokens]);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (extra === undefined) return out;
  const filtered: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!extra.has(out[i]!.toLowerCase())) filtered.push(out[i]!, out[i + 1]!);
  }
  return filtered;
}

/**
 * The head of a `101 Switching Protocols` relayed to the client: the backend's headers minus
 * hop-by-hop ones, then `Connection: Upgrade` and the backend's `Upgrade` token, which are the
 * only hop-by-hop fields a protocol switch passes on (RFC 9110 section 7.8).
 */
export function upgradeResponseHead(status: number, raw: readonly Buffer[]): string {
  let upgrade = 'websocket';
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toString('latin1').toLowerCase() === 'upgrade') upgrade = raw[i + 1]!.toString('latin1');
  }
  const headers = clientResponseHeaders(raw);
  let head = `HTTP/1.1 ${status} Switching Protocols\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}connection: Upgrade\r\nupgrade: ${upgrade}\r\n\r\n`;
}

/**
 * The fields of a backend's `103 Early Hints` to pass on with `res.writeEarlyHints()`, or
 * undefined when it has no Link (RFC 8297: the hints are Link fields; Node requires one).
 */
export function earlyHints(raw: readonly Buffer[]): Record<string, string | string[]> | undefined {
  const links: string[] = [];
  const other: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (lower === 'link') links.push(value);
    else if (!HOP_BY_HOP.has(lower) && lower !== 'content-length') other[lower] = value;
  }
  if (links.length === 0) return undefined;
  return { ...other, link: links };
}

/** The first X-Forwarded-For entry that is not itself a trusted proxy, walking right to left. */
export function clientIpFromForwardedFor(xff: string, peerIp: string, isTrusted: (ip: string) => boolean): string {
  const hops = xff.split(',').map((s) => s.trim()).filter((s) => s !== '');
  let client = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!isTrusted(client)) break;
    client = hops[i]!;
  }
  return client;
}
