/**
 * The `grpc` health check: one `grpc.health.v1.Health/Check` call
 * (https://github.com/grpc/grpc/blob/master/doc/health-checking.md). SERVING passes; any other
 * status, a gRPC error (an unknown service is NOT_FOUND) or a failed call fails, with the
 * reason as the check's detail.
 *
 * The call is made with undici's HTTP/2 client over velo's own connector (src/upstream/
 * connector.ts): `h2` by ALPN for an https backend, `h2c` for an http one, whatever the pool
 * forwards with (a gRPC service needs HTTP/2), with the pool's TLS settings (CA, client
 * certificate, the name checked and sent as SNI, `verify`) and velo's resolver for a DNS
 * `single`-mode name. Each check has a connection of its own, destroyed when the check ends,
 * whatever state it is in; the check's `timeout` bounds all of it, connecting included.
 *
 * Why not @grpc/grpc-js: a grpc-js channel whose backend accepts the connection but never sends
 * its HTTP/2 SETTINGS (a wedged process) keeps that socket open after `close()`, with no timeout
 * (https://github.com/grpc/grpc-node/issues/2785), so a check per interval would leak a
 * descriptor per check; and it has no way to take velo's connector (the resolver, and the TLS
 * options as velo reads them). The two messages are small enough to frame by hand: the 5-byte
 * gRPC prefix (PROTOCOL-HTTP2.md, Length-Prefixed-Message) around `HealthCheckRequest { string
 * service = 1; }` and `HealthCheckResponse { ServingStatus status = 1; }` (health.proto).
 */
import { Client, type Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../config/types.js';
import type { ConnectLookup } from '../discovery/dns-lookup.js';
import type { UpstreamTlsOptions } from '../upstream/upstream-tls.js';
import { createConnector } from '../upstream/connector.js';
import { GrpcStatus } from '../engine/grpc-reply.js';
import { formatGrpcTimeout } from '../engine/grpc.js';
import { VeloError } from '../errors.js';

/** What a gRPC check needs of a backend. */
export interface GrpcProbeTarget {
  url: URL;
  /** The pool's TLS settings for an https backend; absent: Node's defaults (system CAs, verify). */
  tls?: UpstreamTlsOptions;
  /** velo's resolver for a DNS `single`-mode name; absent: the system resolver. */
  lookup?: ConnectLookup;
}

export interface GrpcProbeResult {
  ok: boolean;
  durationMs: number;
  detail?: string;
}

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
/** A HealthCheckResponse is a few bytes; a backend sending more is not answering this call. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** health.proto `HealthCheckResponse.ServingStatus`. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** `HealthCheckRequest { service }` as one length-prefixed, uncompressed gRPC message. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  // proto3 leaves a default (empty) string out; field 1, wire type 2 (length-delimited) otherwise.
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Reads a varint at `at`; undefined when the buffer ends first. */
function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    value += (buf[i]! & 0x7f) * scale;
    scale *= 128;
    if ((buf[i]! & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/**
 * The serving status in a response body (one length-prefixed `HealthCheckResponse`), or a string
 * saying why it cannot be read. An absent status field is UNKNOWN (proto3 default).
 */
export function decodeHealthCheckResponse(body: Buffer): { status: string } | { problem: string } {
  if (body.length < 5) return { problem: 'no response message' };
  if (body[0] !== 0) return { problem: 'a compressed response message' };
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) return { problem: 'a truncated response message' };
  const message = body.subarray(5, 5 + length);
  let status = 0;
  for (let at = 0; at < message.length; ) {
    const tag = readVarint(message, at);
    if (tag === undefined) return { problem: 'a malformed response message' };
    const field = Math.floor(tag.value / 8);
    const wire = tag.value & 7;
    at = tag.next;
    if (wire === 0) {
      const v = readVarint(message, at);
      if (v === undefined) return { problem: 'a malformed response message' };
      if (field === 1) status = v.value;
      at = v.next;
    } else if (wire === 2) {
      const len = readVarint(message, at);
      if (len === undefined) return { problem: 'a malformed response message' };
      at = len.next + len.value;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return { problem: 'a malformed response message' };
  }
  return { status: SERVING_STATUS[status] ?? String(status) };
}

interface CallResult {
  status: number;
  headers: Map<string, string>;
  trailers: Map<string, string>;
  body: Buffer;
}

type RawFields = Buffer[] | string[] | Record<string, string | string[] | undefined> | null | undefined;

function fieldMap(raw: RawFields): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === null || raw === undefined) return out;
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out.set(String(raw[i]).toLowerCase(), String(raw[i + 1]));
  } else {
    for (const [name, value] of Object.entries(raw)) if (value !== undefined) out.set(name.toLowerCase(), Array.isArray(value) ? value[0]! : value);
  }
  return out;
}

/** One POST on `client`, keeping what undici's `request()` drops over HTTP/2: the trailers. */
function call(client: Client, body: Buffer, headers: Record<string, string>): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const result: CallResult = { status: 0, headers: new Map(), trailers: new Map(), body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    let bytes = 0;
    const handler = {
      onConnect(): void {},
      onHeaders(status: number, raw: Buffer[]): boolean {
        if (status >= 200) {
          result.status = status;
          result.headers = fieldMap(raw);
        }
        return true;
      },
      onData(chunk: Buffer): boolean {
        bytes += chunk.length;
        if (bytes > MAX_RESPONSE_BYTES) {
          reject(new Error(`a response larger than ${MAX_RESPONSE_BYTES} bytes`));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete(trailers: RawFields): void {
        result.trailers = fieldMap(trailers);
        result.body = Buffer.concat(chunks);
        resolve(result);
      },
      onError: reject,
    };
    client.dispatch({ path: HEALTH_CHECK_PATH, method: 'POST', headers, body }, handler as unknown as Dispatcher.DispatchHandler);
  });
}

/** One Health/Check call against `target`; never rejects. */
export async function grpcProbe(target: GrpcProbeTarget, config: Pick<HealthCheckConfig, 'timeoutMs' | 'service'>): Promise<GrpcProbeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 100) / 100;
  const https = target.url.protocol === 'https:';
  const client = new Client(target.url.origin, {
    allowH2: true,
    connect: createConnector({ timeoutMs: config.timeoutMs, tls: target.tls, lookup: target.lookup, protocol: https ? 'h2' : 'h2c', instrument: false }),
  });
  client.on('connectionError', () => {});
  let timedOut = false;
  // Destroying the client fails the call wherever it is: connecting, in TLS, waiting for an answer.
  const timer = setTimeout(() => {
    timedOut = true;
    void client.destroy().catch(() => {});
  }, config.timeoutMs);
  try {
    const headers = { 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': formatGrpcTimeout(config.timeoutMs), 'user-agent': 'velo-health-check' };
    const reply = await call(client, encodeHealthCheckRequest(config.service ?? ''), headers);
    if (reply.status !== 200) return { ok: false, durationMs: elapsed(), detail: `HTTP status ${reply.status}` };
    // Trailers-Only (an error before any message) carries grpc-status in the headers.
    const code = reply.trailers.get('grpc-status') ?? reply.headers.get('grpc-status');
    if (code === undefined) return { ok: false, durationMs: elapsed(), detail: 'no grpc-status: not a gRPC answer' };
    if (code !== '0') {
      const message = decodeURIComponentSafe(reply.trailers.get('grpc-message') ?? reply.headers.get('grpc-message') ?? '');
      return { ok: false, durationMs: elapsed(), detail: `${STATUS_NAMES.get(Number(code)) ?? `grpc-status ${code}`}${message !== '' ? `: ${message}` : ''}` };
    }
    const decoded = decodeHealthCheckResponse(reply.body);
    if ('problem' in decoded) return { ok: false, durationMs: elapsed(), detail: decoded.problem };
    const ok = decoded.status === 'SERVING';
    return { ok, durationMs: elapsed(), ...(ok ? {} : { detail: `status ${decoded.status}` }) };
  } catch (err) {
    const e = err as Error & { code?: string };
    const detail = timedOut ? `timeout after ${config.timeoutMs}ms` : err instanceof VeloError ? e.message : (e.code ?? e.message);
    return { ok: false, durationMs: elapsed(), detail };
  } finally {
    clearTimeout(timer);
    // Whatever state the connection is in (a backend that never sent SETTINGS included).
    await client.destroy().catch(() => {});
  }
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
