/**
 * A pool's `protocol:` (how velo speaks to its backends) and the URL scheme each protocol needs:
 * `h2` is HTTP/2 over TLS chosen by ALPN (RFC 9113 section 3.2), so its backends are `https://`;
 * `h2c` is cleartext HTTP/2 with prior knowledge (section 3.3), so its backends are `http://`.
 */
import type { BackendConfig, UpstreamProtocol } from './types.js';
import { POOL_DEFAULTS } from './defaults.js';
import type { MapReader } from './schema-node.js';

export const UPSTREAM_PROTOCOLS: readonly UpstreamProtocol[] = ['h1', 'h2', 'h2c'];

/** Why `url` cannot be a backend of a pool speaking `protocol`, or undefined when it can. */
export function protocolSchemeProblem(protocol: UpstreamProtocol, url: string): { message: string; hint: string } | undefined {
  const https = url.startsWith('https:');
  if (protocol === 'h2' && !https) {
    return { message: `protocol h2 is HTTP/2 over TLS, but ${url} is cleartext`, hint: 'use https:// backend URLs, or protocol: h2c for cleartext HTTP/2 (prior knowledge)' };
  }
  if (protocol === 'h2c' && https) {
    return { message: `protocol h2c is cleartext HTTP/2, but ${url} is https`, hint: 'use protocol: h2 for HTTP/2 over TLS, or http:// backend URLs' };
  }
  return undefined;
}

/** Reads `protocol:` and checks the pool's backends against it (reported at `protocol`). */
export function readProtocol(r: MapReader, backends: readonly BackendConfig[]): UpstreamProtocol {
  const protocol = r.oneOf('protocol', POOL_DEFAULTS.protocol, UPSTREAM_PROTOCOLS);
  for (const b of backends) {
    const problem = protocolSchemeProblem(protocol, b.url);
    if (problem === undefined) continue;
    r.c.report(r.at('protocol'), r.get('protocol'), problem.message, problem.hint);
    break;
  }
  return protocol;
}
