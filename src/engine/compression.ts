/**
 * Per-pool response compression (`compression:`): gzip or Brotli, streamed through node:zlib
 * between undici and the client with backpressure both ways, flushed on every chunk so a
 * streamed response is never held back. Only what the client accepts, only matching types,
 * never what a client or backend asked to keep as it is. Pools without `compression` run none
 * of this (forward.ts checks one property).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, createBrotliCompress, createGzip, type BrotliCompress, type Gzip } from 'node:zlib';

/** Content codings velo produces (RFC 9110 section 8.4.1.3 gzip; RFC 7932 br). */
export type CompressionAlgorithm = 'br' | 'gzip';

export const COMPRESSION_ALGORITHMS: readonly CompressionAlgorithm[] = ['br', 'gzip'];

/** A pool's `compression:` as the config reads it (src/config/schema-compression.ts). */
export interface CompressionConfig {
  /** In velo's order of preference, used when the client's q-values tie. */
  algorithms: CompressionAlgorithm[];
  /** A response whose Content-Length is below this many bytes is sent as it is; bytes. */
  minBytes: number;
  /** Lower-case media types, exact (`application/json`) or a whole type (`text/*`). */
  types: string[];
}

/**
 * A streamed type that wildcards never match: server-sent events are compressed only when
 * `text/event-stream` is listed itself (each event is then flushed, at some cost in ratio).
 */
const NEVER_BY_WILDCARD = 'text/event-stream';

/**
 * Moderate settings, since every byte is compressed on the request path: Brotli quality 4 (of
 * 11) with a 512 KiB window (lgwin 19, the default of nginx's brotli module), gzip level 5 (of
 * 9, Caddy's default). The top levels cost many times the CPU for a few percent.
 */
const BROTLI_QUALITY = 4;
const BROTLI_LGWIN = 19;
const GZIP_LEVEL = 5;

/**
 * The coding to use for a client's Accept-Encoding (RFC 9110 section 12.5.3): the configured
 * algorithm with the highest q-value, ties going to the configured order; `x-gzip` counts as
 * gzip (section 8.4.1.3); `*` stands for any coding not named; `q=0` refuses. No header or an
 * empty one: undefined (send identity, as nginx and Caddy do).
 */
export function negotiateEncoding(acceptEncoding: string | string[] | undefined, algorithms: readonly CompressionAlgorithm[]): CompressionAlgorithm | undefined {
  if (acceptEncoding === undefined) return undefined;
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : acceptEncoding;
  const named = new Map<string, number>();
  let star: number | undefined;
  for (const item of header.split(',')) {
    const [rawCoding, ...params] = item.split(';');
    let coding = rawCoding!.trim().toLowerCase();
    if (coding === '') continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m === null) continue;
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 section 12.4.2); anything else refuses the coding.
      q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(m[1]!) ? Number(m[1]) : 0;
    }
    if (coding === '*') star = Math.max(star ?? 0, q);
    else named.set(coding, Math.max(named.get(coding) ?? 0, q));
  }
  let best: CompressionAlgorithm | undefined;
  let bestQ = 0;
  for (const algorithm of algorithms) {
    const q = named.get(algorithm) ?? star ?? 0;
    if (q > bestQ) {
      best = algorithm;
      bestQ = q;
    }
  }
  return best;
}

/** The value of the first field named `lowerName` in a flat `[name, value, ...]` list. */
function field(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}

/** True when the media type of `contentType` (a Content-Type value) is one of `types`; wildcards skip `text/event-stream`. */
export function typeMatches(contentType: string, types: readonly string[]): boolean {
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash <= 0) return false;
  const wildcard = `${media.slice(0, slash)}/*`;
  for (const t of types) {
    if (t === media) return true;
    if (t === wildcard && media !== NEVER_BY_WILDCARD) return true;
  }
  return false;
}

/** True when a Cache-Control value carries the `no-transform` directive (RFC 9111 section 5.2). */
function hasNoTransform(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'cache-control') continue;
    for (const d of headers[i + 1]!.split(',')) if (d.split('=', 1)[0]!.trim().toLowerCase() === 'no-transform') return true;
  }
  return false;
}

/** The request facts the decision needs. */
export interface CompressionRequest {
  method: string;
  /** A Range header was sent. */
  range: boolean;
}

/**
 * True when the response may be compressed, whatever the client accepts: a body follows (not
 * HEAD, not 204, 205 or 304), it is not partial (no 206, no Content-Range, no Range asked: the
 * ranges would count bytes of the other representation, RFC 9110 section 14), the backend set no
 * Content-Encoding, its type matches, its Content-Length (when given) is at least `minBytes`,
 * and no `Cache-Control: no-transform` forbids it (RFC 9110 section 7.7).
 */
export function mayCompress(config: CompressionConfig, req: CompressionRequest, status: number, headers: readonly string[]): boolean {
  if (req.method === 'HEAD' || req.range || status < 200 || status === 204 || status === 205 || status === 206 || status === 304) return false;
  let type: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (name === 'content-encoding' || name === 'content-range') return false;
    if (name === 'content-type') type ??= headers[i + 1];
    else if (name === 'content-length' && Number(headers[i + 1]) < config.minBytes) return false;
  }
  if (type === undefined || !typeMatches(type, config.types)) return false;
  return !hasNoTransform(headers);
}

/**
 * Edits a response's flat header list for compression with `algorithm`: no Content-Length, a
 * Content-Encoding, a strong ETag made weak (`W/"x"`: the bytes differ, the meaning does not;
 * nginx does the same). Vary is added by `addVaryAcceptEncoding`.
 */
export function compressedHeaders(headers: readonly string[], algorithm: CompressionAlgorithm): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    if (lower === 'content-length') continue;
    const value = headers[i + 1]!;
    out.push(headers[i]!, lower === 'etag' && value.startsWith('"') ? `W/${value}` : value);
  }
  out.push('content-encoding', algorithm);
  return out;
}

/**
 * `Vary: Accept-Encoding` appended to the first Vary field (or added); left alone when Vary is
 * `*` or already names it. Edits `headers` in place.
 */
export function addVaryAcceptEncoding(headers: string[]): void {
  let first = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'vary') continue;
    if (first < 0) first = i;
    for (const name of headers[i + 1]!.split(',')) {
      const n = name.trim().toLowerCase();
      if (n === '*' || n === 'accept-encoding') return;
    }
  }
  if (first < 0) headers.push('vary', 'Accept-Encoding');
  else headers[first + 1] = headers[first + 1]!.trim() === '' ? 'Accept-Encoding' : `${headers[first + 1]}, Accept-Encoding`;
}

/**
 * One compressed response body: undici's chunks go in through `write` (false: undici must
 * pause until `resume` is called), the compressed bytes go to `res`. When `res` is full the
 * compressor pauses, its input fills, and undici pauses in turn; a client that takes nothing
 * for `idleMs` is dropped, as on the uncompressed path. Every write is flushed (Z_SYNC_FLUSH,
 * BROTLI_OPERATION_FLUSH), so an event or a chunk of a long response reaches the client at once.
 */
export class CompressedBody {
  /** Compressed bytes handed to the client's response (the access log's `bytes_out`). */
  bytesOut = 0;
  private readonly stream: Gzip | BrotliCompress;
  private stalled: NodeJS.Timeout | undefined;
  private waitingForClient = false;
  private waitingForCompressor = false;

  constructor(
    algorithm: CompressionAlgorithm,
    private readonly res: ServerResponse,
    private readonly resume: () => void,
    private readonly idleMs: number,
    sizeHint?: number,
  ) {
    this.stream =
      algorithm === 'br'
        ? createBrotliCompress({
            flush: constants.BROTLI_OPERATION_FLUSH,
            params: {
              [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
              [constants.BROTLI_PARAM_LGWIN]: BROTLI_LGWIN,
              ...(sizeHint !== undefined ? { [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } : {}),
            },
          })
        : createGzip({ flush: constants.Z_SYNC_FLUSH, level: GZIP_LEVEL });
    this.stream.on('data', this.onCompressed);
    // A compressor failure (out of memory) ends the response as a cut one.
    this.stream.on('error', () => this.res.destroy());
  }

  private readonly onCompressed = (out: Buffer): void => {
    this.bytesOut += out.length;
    if (this.res.write(out) || this.waitingForClient) return;
    this.waitingForClient = true;
    this.stream.pause();
    this.res.once('drain', this.onClientDrain);
    this.stalled ??= setTimeout(() => this.res.destroy(), this.idleMs);
  };

  private readonly onClientDrain = (): void => {
    clearTimeout(this.stalled);
    this.stalled = undefined;
    this.waitingForClient = false;
    this.stream.resume();
  };

  private readonly onCompressorDrain = (): void => {
    this.waitingForCompressor = false;
    this.resume();
  };

  /** Compresses one chunk of the backend's body; false asks undici to pause until resumed. */
  write(chunk: Buffer): boolean {
    if (this.stream.write(chunk)) return true;
    if (!this.waitingForCompressor) {
      this.waitingForCompressor = true;
      this.stream.once('drain', this.onCompressorDrain);
    }
    return false;
  }

  /** The backend's body is complete: `done` runs once the last compressed byte is handed to `res` and `res` is ended. */
  end(done: () => void): void {
    this.stream.once('end', () => {
      this.res.end();
      done();
    });
    this.stream.end();
  }

  /** Frees the compressor and its timer (the request finished, however it ended). */
  close(): void {
    clearTimeout(this.stalled);
    this.res.off('drain', this.onClientDrain);
    if (!this.stream.destroyed) this.stream.destroy();
  }
}

/**
 * Decides compression for one response: edits `headers` (Vary whenever the answer depended on
 * Accept-Encoding; Content-Encoding, no Content-Length, a weak ETag when compressing) and
 * returns the body compressor, or undefined to send the body as it is. Call before writeHead.
 */
export function compressResponse(
  config: CompressionConfig,
  req: IncomingMessage,
  status: number,
  headers: string[],
  res: ServerResponse,
  resume: () => void,
  idleMs: number,
): { headers: string[]; body: CompressedBody | undefined } {
  if (!mayCompress(config, { method: req.method ?? 'GET', range: req.headers.range !== undefined }, status, headers)) return { headers, body: undefined };
  addVaryAcceptEncoding(headers);
  const algorithm = negotiateEncoding(req.headers['accept-encoding'], config.algorithms);
  if (algorithm === undefined) return { headers, body: undefined };
  const length = Number(field(headers, 'content-length'));
  const sizeHint = length > 0 && length < 2 ** 31 ? length : undefined;
  return { headers: compressedHeaders(headers, algorithm), body: new CompressedBody(algorithm, res, resume, idleMs, sizeHint) };
}
