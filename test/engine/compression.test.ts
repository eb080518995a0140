/** The pure parts of `compression:`: Accept-Encoding negotiation, the may-compress predicate, the header edits. */
import test from 'ava';
import { addVaryAcceptEncoding, compressedHeaders, mayCompress, negotiateEncoding, typeMatches, type CompressionAlgorithm, type CompressionConfig } from '../../src/engine/compression.js';
import { COMPRESSION_DEFAULTS } from '../../src/config/defaults.js';

const NEGOTIATION: Array<[string | string[] | undefined, CompressionAlgorithm[], CompressionAlgorithm | undefined]> = [
  [undefined, ['br', 'gzip'], undefined],
  ['', ['br', 'gzip'], undefined],
  ['identity', ['br', 'gzip'], undefined],
  ['gzip', ['br', 'gzip'], 'gzip'],
  ['GZip', ['br', 'gzip'], 'gzip'],
  ['gzip, deflate, br', ['br', 'gzip'], 'br'],
  ['gzip, deflate, br', ['gzip', 'br'], 'gzip'],
  ['br;q=0, gzip', ['br', 'gzip'], 'gzip'],
  ['br; q=0.5, gzip;q=1.0', ['br', 'gzip'], 'gzip'],
  ['gzip;q=0.8, br;q=0.9', ['gzip', 'br'], 'br'],
  ['*', ['br', 'gzip'], 'br'],
  ['*;q=0.5, gzip', ['br', 'gzip'], 'gzip'],
  ['br;q=0, *', ['br', 'gzip'], 'gzip'],
  ['*;q=0', ['br', 'gzip'], undefined],
  ['gzip;q=0, *;q=1', ['gzip'], undefined],
  ['x-gzip', ['gzip'], 'gzip'],
  ['gzip;q=2', ['br', 'gzip'], undefined],
  ['gzip;q=0.0001', ['br', 'gzip'], undefined],
  ['deflate', ['br', 'gzip'], undefined],
  ['br', ['gzip'], undefined],
  [['gzip', 'br'], ['br', 'gzip'], 'br'],
];

for (const [header, algorithms, expected] of NEGOTIATION) {
  test(`Accept-Encoding ${JSON.stringify(header)} with [${algorithms.join(', ')}] gives ${expected ?? 'identity'}`, (t) => {
    t.is(negotiateEncoding(header, algorithms), expected);
  });
}

const TYPES: Array<[string, string[], boolean]> = [
  ['text/html; charset=utf-8', ['text/*'], true],
  ['TEXT/Plain', ['text/*'], true],
  ['text/event-stream', ['text/*'], false],
  ['text/event-stream; charset=utf-8', ['text/*', 'text/event-stream'], true],
  ['application/json', ['application/json'], true],
  ['application/jsonx', ['application/json'], false],
  ['application/problem+json', ['application/json'], false],
  ['image/png', COMPRESSION_DEFAULTS.types as string[], false],
  ['image/svg+xml', COMPRESSION_DEFAULTS.types as string[], true],
  ['', ['text/*'], false],
];

for (const [type, types, expected] of TYPES) {
  test(`Content-Type ${JSON.stringify(type)} ${expected ? 'matches' : 'does not match'} ${types.length > 3 ? 'the defaults' : JSON.stringify(types)}`, (t) => {
    t.is(typeMatches(type, types), expected);
  });
}

const CONFIG: CompressionConfig = { algorithms: ['br', 'gzip'], minBytes: 1024, types: ['text/*', 'application/json'] };
const GET = { method: 'GET', range: false };
const HTML = ['Content-Type', 'text/html', 'Content-Length', '5000'];

const PREDICATE: Array<[string, { method: string; range: boolean }, number, string[], boolean]> = [
  ['a 200 text/html of 5000 bytes', GET, 200, HTML, true],
  ['a 404 text/html', GET, 404, HTML, true],
  ['a body without Content-Length (chunked)', GET, 200, ['content-type', 'application/json'], true],
  ['exactly min_size bytes', GET, 200, ['content-type', 'text/plain', 'content-length', '1024'], true],
  ['one byte below min_size', GET, 200, ['content-type', 'text/plain', 'content-length', '1023'], false],
  ['a HEAD request', { method: 'HEAD', range: false }, 200, HTML, false],
  ['a request with Range', { method: 'GET', range: true }, 200, HTML, false],
  ['a 204', GET, 204, HTML, false],
  ['a 304', GET, 304, HTML, false],
  ['a 206', GET, 206, HTML, false],
  ['a Content-Range', GET, 200, [...HTML, 'Content-Range', 'bytes 0-4999/9000'], false],
  ['a backend Content-Encoding', GET, 200, [...HTML, 'Content-Encoding', 'gzip'], false],
  ['Content-Encoding: identity', GET, 200, [...HTML, 'content-encoding', 'identity'], false],
  ['no Content-Type', GET, 200, ['content-length', '5000'], false],
  ['an image/png', GET, 200, ['content-type', 'image/png', 'content-length', '5000'], false],
  ['Cache-Control: public, No-Transform', GET, 200, [...HTML, 'Cache-Control', 'public, No-Transform'], false],
  ['no-transform in a second Cache-Control line', GET, 200, [...HTML, 'cache-control', 'max-age=60', 'cache-control', 'no-transform'], false],
  ['Cache-Control: max-age=0, no-store', GET, 200, [...HTML, 'cache-control', 'max-age=0, no-store'], true],
];

for (const [what, req, status, headers, expected] of PREDICATE) {
  test(`${what} ${expected ? 'may' : 'may not'} be compressed`, (t) => {
    t.is(mayCompress(CONFIG, req, status, headers), expected);
  });
}

test('compressing drops Content-Length, weakens a strong ETag and adds Content-Encoding', (t) => {
  t.deepEqual(compressedHeaders(['Content-Type', 'text/html', 'Content-Length', '5000', 'ETag', '"v1"'], 'br'), ['Content-Type', 'text/html', 'ETag', 'W/"v1"', 'content-encoding', 'br']);
  t.deepEqual(compressedHeaders(['etag', 'W/"v1"'], 'gzip'), ['etag', 'W/"v1"', 'content-encoding', 'gzip']);
});

const VARY: Array<[string[], string[]]> = [
  [['content-type', 'text/html'], ['content-type', 'text/html', 'vary', 'Accept-Encoding']],
  [['Vary', 'Origin'], ['Vary', 'Origin, Accept-Encoding']],
  [['Vary', 'Origin', 'vary', 'Cookie'], ['Vary', 'Origin, Accept-Encoding', 'vary', 'Cookie']],
  [['Vary', '*'], ['Vary', '*']],
  [['Vary', 'origin, accept-encoding'], ['Vary', 'origin, accept-encoding']],
  [['Vary', 'Origin', 'Vary', 'Accept-Encoding'], ['Vary', 'Origin', 'Vary', 'Accept-Encoding']],
];

for (const [input, expected] of VARY) {
  test(`Vary: Accept-Encoding added to ${JSON.stringify(input)}`, (t) => {
    const headers = [...input];
    addVaryAcceptEncoding(headers);
    t.deepEqual(headers, expected);
  });
}
