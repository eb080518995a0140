/**
 * gRPC at velo's edge, unit by unit: the `grpc-timeout` grammar, the deadline and the headers
 * sent to a backend, the HTTP-to-gRPC status mapping of velo's own answers, `grpc-message`
 * encoding, and which trailer fields are passed on.
 */
import test from 'ava';
import { acceptsTrailers, formatGrpcTimeout, grpcDeadlineAt, parseGrpcTimeout, upstreamProtocolHeaders } from '../../src/engine/grpc.js';
import { encodeGrpcMessage, grpcStatusForHttp, isGrpcContentType } from '../../src/engine/grpc-reply.js';
import { trailerFields } from '../../src/engine/trailers.js';

const TIMEOUTS: Array<[string | undefined, number | undefined]> = [
  ['1H', 3_600_000],
  ['2M', 120_000],
  ['3S', 3000],
  ['250m', 250],
  ['1500u', 1.5],
  ['2000000n', 2],
  ['0m', 0],
  ['99999999S', 99_999_999_000],
  [' 5S ', 5000],
  ['123456789m', undefined], // more than 8 digits
  ['5s', undefined], // units are case-sensitive: s is not a unit
  ['5', undefined],
  ['S', undefined],
  ['-1S', undefined],
  ['1.5S', undefined],
  ['5 S', undefined],
  ['', undefined],
  [undefined, undefined],
];

for (const [value, ms] of TIMEOUTS) {
  test(`parseGrpcTimeout(${JSON.stringify(value)}) is ${ms}`, (t) => {
    t.is(parseGrpcTimeout(value), ms);
  });
}

test('formatGrpcTimeout: whole ms rounded up, a coarser unit when 8 digits do not hold it, never negative', (t) => {
  t.is(formatGrpcTimeout(250), '250m');
  t.is(formatGrpcTimeout(0.2), '1m');
  t.is(formatGrpcTimeout(-5), '0m');
  t.is(formatGrpcTimeout(99_999_999), '99999999m');
  t.is(formatGrpcTimeout(100_000_000), '100000S');
  t.is(formatGrpcTimeout(99_999_999_000 * 60), '99999999M');
  for (const ms of [1, 999, 123_456, 100_000_001, 7 * 86_400_000]) {
    t.true(parseGrpcTimeout(formatGrpcTimeout(ms))! >= ms, `${ms} ms round-trips to at least itself`);
  }
});

test('grpcDeadlineAt: only gRPC requests with a valid grpc-timeout have a deadline', (t) => {
  t.is(grpcDeadlineAt({ 'content-type': 'application/grpc', 'grpc-timeout': '200m' }, 1000), 1200);
  t.is(grpcDeadlineAt({ 'content-type': 'application/grpc+proto', 'grpc-timeout': '1S' }, 0), 1000);
  t.is(grpcDeadlineAt({ 'content-type': 'application/grpc', 'grpc-timeout': 'soon' }, 0), undefined);
  t.is(grpcDeadlineAt({ 'content-type': 'application/json', 'grpc-timeout': '1S' }, 0), undefined);
  t.is(grpcDeadlineAt({ 'content-type': 'application/grpc' }, 0), undefined);
});

test('acceptsTrailers: the trailers token anywhere in TE, any case, with parameters', (t) => {
  t.true(acceptsTrailers('trailers'));
  t.true(acceptsTrailers('gzip;q=0.5, Trailers'));
  t.true(acceptsTrailers(['deflate', 'trailers;q=1']));
  t.false(acceptsTrailers('gzip'));
  t.false(acceptsTrailers('trailersx'));
  t.false(acceptsTrailers(undefined));
});

test('upstreamProtocolHeaders: te: trailers only to HTTP/2 backends of a client that sent it; grpc-timeout is the time left; no pseudo-header passes', (t) => {
  const base = ['host', 'a.test', 'content-type', 'application/grpc', 'grpc-timeout', '1S'];
  t.is(upstreamProtocolHeaders(base, { te: 'trailers' }, 'h1', undefined, 0), base, 'HTTP/1.1 without a deadline: untouched');
  t.deepEqual(upstreamProtocolHeaders(base, { te: 'trailers' }, 'h2c', undefined, 0), [...base, 'te', 'trailers']);
  t.deepEqual(upstreamProtocolHeaders(base, {}, 'h2', undefined, 0), base);
  t.deepEqual(upstreamProtocolHeaders(base, { te: 'trailers' }, 'h2', 1000, 400), ['host', 'a.test', 'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', '600m']);
  t.deepEqual(upstreamProtocolHeaders(['GRPC-Timeout', '9S'], {}, 'h1', 50, 0), ['grpc-timeout', '50m']);
  t.deepEqual(upstreamProtocolHeaders([':path', '/x', 'a', 'b'], {}, 'h2c', undefined, 0), ['a', 'b']);
});

const MAPPING: Array<[number, number, string]> = [
  [400, 13, 'INTERNAL (the mapping table)'],
  [401, 16, 'UNAUTHENTICATED'],
  [403, 7, 'PERMISSION_DENIED'],
  [404, 12, 'UNIMPLEMENTED'],
  [429, 8, 'RESOURCE_EXHAUSTED: velo knows it is a rate limit'],
  [500, 13, 'INTERNAL'],
  [502, 14, 'UNAVAILABLE'],
  [503, 14, 'UNAVAILABLE'],
  [504, 4, 'DEADLINE_EXCEEDED: velo knows it is a timeout'],
  [411, 2, 'UNKNOWN'],
  [408, 2, 'UNKNOWN'],
];

for (const [http, grpc, why] of MAPPING) {
  test(`HTTP ${http} is gRPC status ${grpc} (${why})`, (t) => {
    t.is(grpcStatusForHttp(http), grpc);
  });
}

test('encodeGrpcMessage percent-encodes UTF-8 outside printable ASCII, and %', (t) => {
  t.is(encodeGrpcMessage('upstream connect failed'), 'upstream connect failed');
  t.is(encodeGrpcMessage('100% ok'), '100%25 ok');
  t.is(encodeGrpcMessage('line\nbreak'), 'line%0Abreak');
  t.is(encodeGrpcMessage('café ☕'), 'caf%C3%A9 %E2%98%95');
  t.is(decodeURIComponent(encodeGrpcMessage('café ☕ 100%')), 'café ☕ 100%');
});

test('isGrpcContentType: application/grpc and its variants, any case', (t) => {
  for (const yes of ['application/grpc', 'application/grpc+proto', 'application/grpc-web+proto', 'Application/GRPC; charset=utf-8']) t.true(isGrpcContentType(yes), yes);
  for (const no of ['application/json', 'application/gr', 'text/plain', undefined]) t.false(isGrpcContentType(no), String(no));
  t.true(isGrpcContentType(['application/grpc']));
});

test('trailerFields: HTTP/1.1 raw pairs and HTTP/2 objects alike; framing, hop-by-hop and pseudo fields dropped', (t) => {
  t.deepEqual(trailerFields([Buffer.from('Grpc-Status'), Buffer.from('0'), Buffer.from('X-Sum'), Buffer.from('1'), Buffer.from('x-sum'), Buffer.from('2'), Buffer.from('content-length'), Buffer.from('5')]), { 'grpc-status': '0', 'x-sum': ['1', '2'] });
  t.deepEqual(trailerFields({ 'grpc-status': '14', 'grpc-message': 'down', ':status': '200', connection: 'close', 'x-many': ['a', 'b'] }), { 'grpc-status': '14', 'grpc-message': 'down', 'x-many': ['a', 'b'] });
  t.is(trailerFields({}), undefined);
  t.is(trailerFields({ 'transfer-encoding': 'chunked' }), undefined);
  t.is(trailerFields(null), undefined);
  t.is(trailerFields(undefined), undefined);
});
