import test from 'ava';
import { clientIpFromForwardedFor, clientResponseHeaders, upstreamRequestHeaders, type ForwardedInfo } from '../../src/engine/headers.js';

const INFO: ForwardedInfo = { peerIp: '10.0.0.9', clientIp: '203.0.113.7', proto: 'https', requestId: 'req-1' };

/** The headers velo appends, for a request with `Host: example.com`. */
const appended = (xff: string, info: ForwardedInfo = INFO, host = 'example.com'): string[] => [
  'x-forwarded-for',
  xff,
  'x-forwarded-proto',
  info.proto,
  'x-real-ip',
  info.clientIp,
  'x-request-id',
  info.requestId,
  'x-forwarded-host',
  host,
];

test('hop-by-hop headers and the headers named in Connection are removed; the rest keep their order', (t) => {
  const raw = [
    'Host', 'example.com',
    'User-Agent', 'curl/8',
    'Connection', 'keep-alive, X-Secret, Upgrade',
    'X-Secret', 'do-not-forward',
    'Keep-Alive', 'timeout=5',
    'Accept', '*/*',
    'Transfer-Encoding', 'chunked',
    'TE', 'trailers',
    'Trailer', 'X-Checksum',
    'Upgrade', 'h2c',
    'Proxy-Connection', 'keep-alive',
    'Proxy-Authorization', 'Basic eDp5',
    'Expect', '100-continue',
    'Content-Type', 'text/plain',
  ];
  const out = upstreamRequestHeaders(raw, 'keep-alive, X-Secret, Upgrade', INFO);
  t.deepEqual(out, ['Host', 'example.com', 'User-Agent', 'curl/8', 'Accept', '*/*', 'Content-Type', 'text/plain', ...appended('10.0.0.9')]);
});

test('Connection tokens match header names case-insensitively', (t) => {
  const raw = ['Host', 'example.com', 'x-debug-token', 'abc', 'X-Other', '1'];
  const out = upstreamRequestHeaders(raw, ' X-DEBUG-TOKEN ,close', INFO);
  t.deepEqual(out, ['Host', 'example.com', 'X-Other', '1', ...appended('10.0.0.9')]);
});

test('X-Forwarded-For: the peer is appended to the client chain, several XFF headers are joined in order', (t) => {
  const raw = ['Host', 'example.com', 'X-Forwarded-For', '198.51.100.1, 198.51.100.2', 'x-forwarded-for', '198.51.100.3'];
  const out = upstreamRequestHeaders(raw, undefined, INFO);
  t.deepEqual(out, ['Host', 'example.com', ...appended('198.51.100.1, 198.51.100.2, 198.51.100.3, 10.0.0.9')]);
});

test('without a client X-Forwarded-For the chain is just the peer', (t) => {
  const out = upstreamRequestHeaders(['Host', 'example.com'], undefined, INFO);
  t.deepEqual(out, ['Host', 'example.com', ...appended('10.0.0.9')]);
});

test('client-sent X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host and X-Request-Id are replaced, not duplicated', (t) => {
  const raw = [
    'X-Real-IP', '6.6.6.6',
    'Host', 'example.com:8443',
    'X-Forwarded-Proto', 'gopher',
    'X-Forwarded-Host', 'evil.example',
    'X-Request-Id', 'spoofed',
  ];
  const out = upstreamRequestHeaders(raw, undefined, INFO);
  t.deepEqual(out, ['Host', 'example.com:8443', ...appended('10.0.0.9', INFO, 'example.com:8443')]);
  t.is(out.filter((h) => h.toLowerCase() === 'x-real-ip').length, 1);
});

test('X-Real-IP is the trusted client IP, not the peer', (t) => {
  const info = { ...INFO, peerIp: '10.0.0.1', clientIp: '192.0.2.44', proto: 'http' as const };
  const out = upstreamRequestHeaders(['Host', 'h', 'X-Forwarded-For', '192.0.2.44'], undefined, info);
  t.deepEqual(out, ['Host', 'h', ...appended('192.0.2.44, 10.0.0.1', info, 'h')]);
});

test('duplicate end-to-end headers are all kept, in order, with their original name case', (t) => {
  const raw = ['Host', 'example.com', 'Cookie', 'a=1', 'Accept', 'text/html', 'cookie', 'b=2', 'X-Multi', '1', 'X-Multi', '2'];
  const out = upstreamRequestHeaders(raw, undefined, INFO);
  t.deepEqual(out, ['Host', 'example.com', 'Cookie', 'a=1', 'Accept', 'text/html', 'cookie', 'b=2', 'X-Multi', '1', 'X-Multi', '2', ...appended('10.0.0.9')]);
});

test('without a Host header no X-Forwarded-Host is sent', (t) => {
  const out = upstreamRequestHeaders(['Accept', '*/*'], undefined, INFO);
  t.deepEqual(out, ['Accept', '*/*', 'x-forwarded-for', '10.0.0.9', 'x-forwarded-proto', 'https', 'x-real-ip', '203.0.113.7', 'x-request-id', 'req-1']);
});

const buffers = (...items: string[]): Buffer[] => items.map((s) => Buffer.from(s, 'latin1'));

test('clientResponseHeaders drops hop-by-hop headers and those named in Connection, wherever they appear', (t) => {
  const raw = buffers(
    'X-Internal', 'secret',
    'Content-Type', 'text/plain',
    'Connection', 'keep-alive, X-Internal, x-trace',
    'Keep-Alive', 'timeout=5',
    'Transfer-Encoding', 'chunked',
    'Set-Cookie', 'a=1',
    'X-Trace', 't',
    'Upgrade', 'websocket',
    'Proxy-Authenticate', 'Basic',
    'Trailer', 'X-Checksum',
    'Set-Cookie', 'b=2',
  );
  t.deepEqual(clientResponseHeaders(raw), ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
});

test('clientResponseHeaders keeps names and values byte for byte (latin1)', (t) => {
  const raw = [Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('Content-Length'), Buffer.from('4')];
  const out = clientResponseHeaders(raw);
  t.deepEqual(out, ['X-Name', 'caf\u00e9', 'Content-Length', '4']);
  t.deepEqual(Buffer.from(out[1]!, 'latin1'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
});

test('clientResponseHeaders with only end-to-end headers returns them unchanged', (t) => {
  t.deepEqual(clientResponseHeaders(buffers('Content-Type', 'a', 'ETag', '"x"')), ['Content-Type', 'a', 'ETag', '"x"']);
});

test('clientResponseHeaders honours every Connection header line, not only the last', (t) => {
  const raw = buffers('Connection', 'X-A', 'Connection', 'keep-alive', 'X-A', '1', 'Content-Type', 'text/plain');
  t.deepEqual(clientResponseHeaders(raw), ['Content-Type', 'text/plain']);
});

// [X-Forwarded-For, peer, trusted, client IP]
const TRUSTED = new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
const XFF: Array<[string, string, string]> = [
  // An untrusted peer's XFF is ignored.
  ['1.1.1.1', '192.0.2.1', '192.0.2.1'],
  // A trusted peer: its client is the last entry.
  ['1.1.1.1', '10.0.0.1', '1.1.1.1'],
  // Trusted hops are walked through from the right.
  ['1.1.1.1, 10.0.0.2', '10.0.0.1', '1.1.1.1'],
  ['1.1.1.1, 10.0.0.3, 10.0.0.2', '10.0.0.1', '1.1.1.1'],
  // The first untrusted hop from the right is the client; anything left of it may be forged.
  ['6.6.6.6, 2.2.2.2', '10.0.0.1', '2.2.2.2'],
  ['6.6.6.6, 2.2.2.2, 10.0.0.2', '10.0.0.1', '2.2.2.2'],
  // Every hop trusted: the leftmost one.
  ['10.0.0.3, 10.0.0.2', '10.0.0.1', '10.0.0.3'],
  // Spaces and empty entries are ignored.
  ['  1.1.1.1 ,, 10.0.0.2 ', '10.0.0.1', '1.1.1.1'],
  ['', '10.0.0.1', '10.0.0.1'],
  [' , ', '10.0.0.1', '10.0.0.1'],
];

for (const [xff, peer, expected] of XFF) {
  test(`clientIpFromForwardedFor(${JSON.stringify(xff)}, peer ${peer}) is ${expected}`, (t) => {
    t.is(clientIpFromForwardedFor(xff, peer, (ip) => TRUSTED.has(ip)), expected);
  });
}

const VELO_TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01';

test('with tracing on, the client\'s traceparent (any spelling, every copy) is replaced by velo\'s, sent last; a continued trace keeps tracestate', (t) => {
  const raw = ['Host', 'example.com', 'TraceParent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'tracestate', 'rojo=1', 'traceparent', 'x', 'Tracestate', 'congo=2'];
  const out = upstreamRequestHeaders(raw, undefined, { ...INFO, traceparent: VELO_TRACE, traceContinued: true });
  t.deepEqual(out, ['Host', 'example.com', 'tracestate', 'rojo=1', 'Tracestate', 'congo=2', ...appended('10.0.0.9'), 'traceparent', VELO_TRACE]);
});

test('with tracing on, a restarted trace drops the client\'s tracestate (W3C section 4.2)', (t) => {
  const raw = ['Host', 'example.com', 'traceparent', 'garbage', 'tracestate', 'rojo=1'];
  const out = upstreamRequestHeaders(raw, undefined, { ...INFO, traceparent: VELO_TRACE, traceContinued: false });
  t.deepEqual(out, ['Host', 'example.com', ...appended('10.0.0.9'), 'traceparent', VELO_TRACE]);
});

test('with tracing off, traceparent and tracestate pass like any header, and none is added', (t) => {
  const raw = ['Host', 'example.com', 'traceparent', 'garbage', 'tracestate', 'rojo=1'];
  t.deepEqual(upstreamRequestHeaders(raw, undefined, INFO), ['Host', 'example.com', 'traceparent', 'garbage', 'tracestate', 'rojo=1', ...appended('10.0.0.9')]);
  t.deepEqual(upstreamRequestHeaders(['Host', 'example.com'], undefined, INFO), ['Host', 'example.com', ...appended('10.0.0.9')]);
});
