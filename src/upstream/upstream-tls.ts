/**
 * How velo speaks TLS to https backends: the pool's `tls` section read into the options undici's
 * `buildConnector` passes to `tls.connect` (Node docs, tls.connect and tls.createSecureContext).
 */
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { UpstreamTlsConfig } from '../config/types.js';
import { readPem } from '../config/read-pem.js';
import { ConfigError, type ConfigIssue } from '../errors.js';

/** `tls.connect` options for one backend: PEM bytes, the SNI/verification name, and verification. */
export interface UpstreamTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Sent as SNI and checked against the certificate; undefined for an IP backend without `servername` (checked against the IP). */
  servername?: string;
  rejectUnauthorized: boolean;
}

function load(tls: UpstreamTlsConfig | undefined, at: string, issues: ConfigIssue[]): Omit<UpstreamTlsOptions, 'servername'> {
  if (tls === undefined) return { rejectUnauthorized: true };
  const ca = tls.ca !== undefined ? readPem(tls.ca, `${at}.ca`, issues) : undefined;
  const cert = tls.cert !== undefined ? readPem(tls.cert, `${at}.cert`, issues) : undefined;
  const key = tls.key !== undefined ? readPem(tls.key, `${at}.key`, issues) : undefined;
  if (issues.length === 0) {
    try {
      createSecureContext({ ca, cert, key });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reason = /key values mismatch/i.test(message) ? 'the client certificate does not match its key' : message;
      issues.push({ path: `${at}.cert`, message: reason, hint: 'expected PEM files: a CA bundle, and a client certificate with the key it was issued for' });
    }
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: tls.verify };
}

/** Problems with a pool's `tls` files (unreadable, a client pair that does not match), at `at.*`. */
export function upstreamTlsIssues(tls: UpstreamTlsConfig, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  load(tls, at, issues);
  return issues;
}

/**
 * The connect options for backend `url` under `tls`; throws a `ConfigError` when a file cannot be
 * read. The name checked is `tls.servername`, else the URL's host name (as nginx's
 * `proxy_ssl_name`), never the client's Host header.
 */
export function upstreamTlsOptions(tls: UpstreamTlsConfig | undefined, url: URL): UpstreamTlsOptions {
  const issues: ConfigIssue[] = [];
  const options = load(tls, 'tls', issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const servername = tls?.servername ?? (isIP(host) === 0 ? host : undefined);
  return { ...options, ...(servername !== undefined ? { servername } : {}) };
}
