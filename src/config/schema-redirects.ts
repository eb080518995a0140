/**
 * Validation of a pool's `redirects: { https, https_port, canonical_host, strip_www }`
 * (src/engine/redirects.ts, docs/rewriting.md).
 */
import type { RedirectConfig } from '../engine/redirects.js';
import type { MapReader } from './schema-node.js';
import { REDIRECT_DEFAULTS } from './defaults.js';

/** A DNS name (letters, digits, `-`, `_`, dots between labels) or an IPv4 address; no port. */
const CANONICAL_HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
const CANONICAL_HOST_HINT = 'expected a host name such as example.com (no scheme, port or path; https_port sets the port)';

/** The pool's redirects, or undefined when the key is absent or asks for nothing. */
export function readRedirects(r: MapReader): RedirectConfig | undefined {
  if (!r.has('redirects')) return undefined;
  const m = r.map('redirects', ['https', 'https_port', 'canonical_host', 'strip_www']);
  const https = m.bool('https', false);
  const httpsPort = m.int('https_port', REDIRECT_DEFAULTS.httpsPort, { min: 1, max: 65535 });
  if (m.has('https_port') && !https) {
    m.c.report(m.at('https_port'), m.get('https_port'), 'https_port needs https: true', 'add https: true, or remove https_port');
  }
  const stripWww = m.bool('strip_www', false);
  const raw = m.optionalString('canonical_host', CANONICAL_HOST_HINT);
  let canonicalHost: string | undefined;
  if (raw !== undefined) {
    const host = raw.toLowerCase().replace(/\.$/, '');
    if (CANONICAL_HOST.test(host)) canonicalHost = host;
    else m.c.report(m.at('canonical_host'), m.get('canonical_host'), `"${raw}" is not a host name`, CANONICAL_HOST_HINT);
    if (stripWww) m.c.report(m.at('strip_www'), m.get('strip_www'), 'strip_www and canonical_host cannot both be set', 'canonical_host already sends every other host (www. included) to one name; keep one of them');
  }
  if (!https && canonicalHost === undefined && !stripWww) return undefined;
  return { https, httpsPort, stripWww, ...(canonicalHost !== undefined ? { canonicalHost } : {}) };
}
