import test from 'ava';
import { parseProxyHeader, PROXY_V2_SIGNATURE } from '../../src/engine/proxy-protocol.js';

/** A v2 header: `verCmd`, `fam`, then the address block. */
function v2(verCmd: number, fam: number, body: number[]): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([verCmd, fam]), len, Buffer.from(body)]);
}

const TCP4_BODY = [203, 0, 113, 9, 10, 0, 0, 1, 0x15, 0xb3, 0, 80]; // 203.0.113.9:5555 -> 10.0.0.1:80
const TCP6_BODY = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7, ...Array(15).fill(0), 1, 0x15, 0xb3, 0, 80]; // 2001:db8::7

const CASES: Array<[string, Buffer, ReturnType<typeof parseProxyHeader>]> = [
  ['v1 TCP4', Buffer.from('PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\nGET'), { kind: 'header', version: 1, length: 41, source: { address: '203.0.113.9', port: 5555 } }],
  ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::7 ::1 5555 443\r\n'), { kind: 'header', version: 1, length: 37, source: { address: '2001:db8::7', port: 5555 } }],
  ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN whatever\r\n'), { kind: 'header', version: 1, length: 24, source: undefined }],
  ['v1 cut short', Buffer.from('PROXY TCP4 203.0.'), { kind: 'incomplete' }],
  ['a prefix of PROXY', Buffer.from('PRO'), { kind: 'incomplete' }],
  ['v1 family mismatch', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), { kind: 'invalid', reason: 'v1 header has bad TCP4 addresses or ports' }],
  ['v1 port out of range', Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 70000 2\r\n'), { kind: 'invalid', reason: 'v1 header has bad TCP4 addresses or ports' }],
  ['v1 without CRLF after 107 bytes', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), { kind: 'invalid', reason: 'v1 header longer than 107 bytes' }],
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), { kind: 'absent' }],
  ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01]), { kind: 'absent' }],
  ['v2 TCP4', v2(0x21, 0x11, TCP4_BODY), { kind: 'header', version: 2, length: 28, source: { address: '203.0.113.9', port: 5555 } }],
  ['v2 TCP6', v2(0x21, 0x21, TCP6_BODY), { kind: 'header', version: 2, length: 52, source: { address: '2001:db8::7', port: 5555 } }],
  ['v2 TCP4 with a TLV', v2(0x21, 0x11, [...TCP4_BODY, 0x04, 0, 1, 0]), { kind: 'header', version: 2, length: 32, source: { address: '203.0.113.9', port: 5555 } }],
  ['v2 LOCAL', v2(0x20, 0x00, []), { kind: 'header', version: 2, length: 16, source: undefined }],
  ['v2 cut in the address block', v2(0x21, 0x11, TCP4_BODY).subarray(0, 20), { kind: 'incomplete' }],
  ['v2 signature only', PROXY_V2_SIGNATURE.subarray(0, 5), { kind: 'incomplete' }],
  ['v2 version 3', v2(0x31, 0x11, TCP4_BODY), { kind: 'invalid', reason: 'v2 header with version 3' }],
  ['v2 UDP', v2(0x21, 0x12, TCP4_BODY), { kind: 'invalid', reason: 'v2 family/transport 0x12 is not TCP over IPv4 or IPv6' }],
  ['v2 short TCP4 block', v2(0x21, 0x11, [1, 2, 3]), { kind: 'invalid', reason: 'v2 TCP4 address block shorter than 12 bytes' }],
];

for (const [name, input, expected] of CASES) {
  test(`parseProxyHeader: ${name}`, (t) => {
    t.deepEqual(parseProxyHeader(input), expected);
  });
}
