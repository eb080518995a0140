/**
 * A parser for the PROXY protocol header that an L4 load balancer (HAProxy, AWS NLB, ...) sends
 * before the client's first byte, following HAProxy's spec "The PROXY protocol, versions 1 & 2"
 * (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt):
 *
 * - v1 (section 2.1): one text line `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n`, at most
 *   107 bytes; `UNKNOWN` means "use the connection's own addresses".
 * - v2 (section 2.2): a 12-byte signature, a version/command byte (0x20 LOCAL, 0x21 PROXY), a
 *   family/transport byte (0x11 TCP over IPv4, 0x21 TCP over IPv6, 0x00 UNSPEC), a 16-bit
 *   big-endian length, then the addresses and optional TLVs (skipped). LOCAL (health checks of
 *   the balancer itself) and UNSPEC mean "use the connection's own addresses".
 *
 * No npm parser was taken: the maintained ones parse a complete buffer and cannot say "not enough
 * bytes yet", which a stream needs; this one is pure and incremental.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The 12-byte v2 signature (spec section 2.2). */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** Longest v1 line, CRLF included (spec section 2.1). */
export const PROXY_V1_MAX_BYTES = 107;
/** Longest v2 header velo accepts (16 + addresses + TLVs); the spec allows 64 KiB, real senders use far less. */
export const PROXY_V2_MAX_BYTES = 16 + 4096;

/** The client address a PROXY header carries. */
export interface ProxySource {
  /** IPv4 dotted quad or IPv6 text as Node writes it. */
  address: string;
  port: number;
}

/**
 * What the first bytes of a connection are:
 * - `absent`: they cannot start a PROXY header;
 * - `incomplete`: they may, more bytes are needed;
 * - `invalid`: a PROXY header that breaks the spec (`reason` says how);
 * - `header`: a whole header of `length` bytes; `source` is undefined for v1 UNKNOWN and for
 *   v2 LOCAL or UNSPEC, where the connection's own address stands.
 */
export type ProxyHeaderParse =
  | { kind: 'absent' }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'header'; version: 1 | 2; length: number; source: ProxySource | undefined };

function startsLike(buf: Buffer, prefix: Buffer): 'yes' | 'maybe' | 'no' {
  const n = Math.min(buf.length, prefix.length);
  if (!buf.subarray(0, n).equals(prefix.subarray(0, n))) return 'no';
  return buf.length >= prefix.length ? 'yes' : 'maybe';
}

/** Parses a PROXY v1 or v2 header at the start of `buf` (see `ProxyHeaderParse`). Never throws. */
export function parseProxyHeader(buf: Buffer): ProxyHeaderParse {
  const v2 = startsLike(buf, PROXY_V2_SIGNATURE);
  if (v2 === 'yes') return parseV2(buf);
  const v1 = startsLike(buf, V1_PREFIX);
  if (v1 === 'yes') return parseV1(buf);
  return v1 === 'maybe' || v2 === 'maybe' ? { kind: 'incomplete' } : { kind: 'absent' };
}

function parsePort(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s) || (s.length > 1 && s.startsWith('0'))) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Buffer): ProxyHeaderParse {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= PROXY_V1_MAX_BYTES ? { kind: 'invalid', reason: 'v1 header longer than 107 bytes' } : { kind: 'incomplete' };
  const length = end + 2;
  if (length > PROXY_V1_MAX_BYTES) return { kind: 'invalid', reason: 'v1 header longer than 107 bytes' };
  const fields = buf.subarray(0, end).toString('latin1').split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN') return { kind: 'header', version: 1, length, source: undefined };
  if (fields.length !== 6 || (proto !== 'TCP4' && proto !== 'TCP6')) return { kind: 'invalid', reason: 'v1 header is not "PROXY TCP4|TCP6 src dst sport dport"' };
  const [, , src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const isFamily = proto === 'TCP4' ? isIPv4 : isIPv6;
  const port = parsePort(sport);
  if (!isFamily(src) || !isFamily(dst) || port === undefined || parsePort(dport) === undefined) {
    return { kind: 'invalid', reason: `v1 header has bad ${proto} addresses or ports` };
  }
  return { kind: 'header', version: 1, length, source: { address: src, port } };
}

function ipv6Text(bytes: Buffer): string {
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 client it stands for.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12, 16)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Node's own notation (compressed, lower case), so it compares equal to socket.remoteAddress.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function parseV2(buf: Buffer): ProxyHeaderParse {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  const family = buf[13]!;
  const length = 16 + buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `v2 header with version ${verCmd >> 4}` };
  const command = verCmd & 0x0f;
  if (command > 1) return { kind: 'invalid', reason: `v2 header with unknown command ${command}` };
  if (length > PROXY_V2_MAX_BYTES) return { kind: 'invalid', reason: `v2 header of ${length} bytes is too long` };
  if (buf.length < length) return { kind: 'incomplete' };
  // LOCAL: the balancer speaking for itself; the address block is ignored (section 2.2).
  if (command === 0) return { kind: 'header', version: 2, length, source: undefined };
  const body = buf.subarray(16, length);
  switch (family) {
    case 0x11: // TCP over IPv4: src 4, dst 4, sport 2, dport 2
      if (body.length < 12) return { kind: 'invalid', reason: 'v2 TCP4 address block shorter than 12 bytes' };
      return { kind: 'header', version: 2, length, source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) } };
    case 0x21: // TCP over IPv6: src 16, dst 16, sport 2, dport 2
      if (body.length < 36) return { kind: 'invalid', reason: 'v2 TCP6 address block shorter than 36 bytes' };
      return { kind: 'header', version: 2, length, source: { address: ipv6Text(body.subarray(0, 16)), port: body.readUInt16BE(32) } };
    case 0x00: // UNSPEC: a receiver must accept it and use the real addresses.
      return { kind: 'header', version: 2, length, source: undefined };
    default:
      return { kind: 'invalid', reason: `v2 family/transport 0x${family.toString(16)} is not TCP over IPv4 or IPv6` };
  }
}
