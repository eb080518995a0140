/**
 * The request side of gRPC and HTTP/2 at velo's edge (gRPC over HTTP/2,
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 *
 * - `grpc-timeout` (`1*8DIGIT unit`, units H M S m u n) is the client's deadline for the call.
 *   velo ends the wait for response headers there (DEADLINE_EXCEEDED, src/engine/grpc-reply.ts),
 *   whatever `timeouts.response` says, and tells the backend the time left rather than the
 *   client's whole timeout, so the deadline does not restart at each hop (deadline propagation).
 * - `te: trailers` reaches HTTP/2 backends when the client sent it: it is the one TE value
 *   HTTP/2 allows (RFC 9113 section 8.2.2), and gRPC servers refuse requests without it. Over
 *   HTTP/1.1, TE is hop-by-hop and undici cannot send the `Connection: TE` that would go with it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamProtocol } from '../config/types.js';
import { isGrpcContentType } from './grpc-reply.js';

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** The duration of a `grpc-timeout` value in ms (fractional below 1 ms), or undefined when it is malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = GRPC_TIMEOUT.exec(value.trim());
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** A `grpc-timeout` value for `ms` (rounded up to whole ms, or a coarser unit when 8 digits do not hold it). */
export function formatGrpcTimeout(ms: number): string {
  let value = Math.max(0, Math.ceil(ms));
  for (const [unit, factor] of [['m', 1], ['S', 1000], ['M', 60], ['H', 60]] as const) {
    if (unit !== 'm') value = Math.ceil(value / factor);
    if (value <= 99_999_999) return `${value}${unit}`;
  }
  return '99999999H';
}

/**
 * The `clock` time a gRPC request's deadline passes, from its `grpc-timeout`; undefined for a
 * request that is not gRPC or carries no valid `grpc-timeout` (a malformed one is passed on
 * untouched and bounds nothing here, as Envoy ignores it).
 */
export function grpcDeadlineAt(headers: IncomingHttpHeaders, startedAt: number): number | undefined {
  if (!isGrpcContentType(headers['content-type'])) return undefined;
  const raw = headers['grpc-timeout'];
  const ms = parseGrpcTimeout(Array.isArray(raw) ? raw[0] : raw);
  return ms === undefined ? undefined : startedAt + ms;
}

/** True when the client's TE field lists the `trailers` token (RFC 9110 section 10.1.4). */
export function acceptsTrailers(te: string | string[] | undefined): boolean {
  if (te === undefined) return false;
  for (const part of (Array.isArray(te) ? te.join(',') : te).split(',')) {
    if (part.split(';')[0]!.trim().toLowerCase() === 'trailers') return true;
  }
  return false;
}

/**
 * The header list sent to one backend: `headers` (the client's, already stripped of hop-by-hop
 * and pseudo-header fields), plus `te: trailers` for an HTTP/2 backend when the client accepts
 * trailers, with `grpc-timeout` set to what is left of the deadline at `now`.
 */
export function upstreamProtocolHeaders(headers: string[], client: IncomingHttpHeaders, protocol: UpstreamProtocol, deadlineAt: number | undefined, now: number): string[] {
  const h2 = protocol !== 'h1';
  if (!h2 && deadlineAt === undefined) return headers;
  const te = h2 && acceptsTrailers(client.te);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // A pseudo-header never travels as a field; an HTTP/2 backend would read it as one.
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (deadlineAt !== undefined && name.toLowerCase() === 'grpc-timeout') continue;
    out.push(name, headers[i + 1]!);
  }
  if (te) out.push('te', 'trailers');
  if (deadlineAt !== undefined) out.push('grpc-timeout', formatGrpcTimeout(deadlineAt - now));
  return out;
}
