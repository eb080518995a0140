/**
 * The listener's certificates: read from their PEM files, checked (a certificate and key that do
 * not belong together, an unreadable file or an unknown cipher list is an error naming the config
 * key), and chosen per connection by SNI. Loading is all or nothing, so a reload with one broken
 * pair keeps every old certificate.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { ListenTlsConfig } from '../config/types.js';
import { readPem } from '../config/read-pem.js';
import { ConfigError, type ConfigIssue } from '../errors.js';

/** Every certificate the listener serves, ready to install. */
export interface TlsMaterial {
  /** Options for `tls.Server#setSecureContext` (the default certificate, min version, ciphers). */
  defaultOptions: SecureContextOptions;
  /** Exact host names to their context. */
  exact: Map<string, SecureContext>;
  /** `*.example.com` entries, keyed by the suffix `.example.com`. */
  wildcard: Map<string, SecureContext>;
  /** SHA-256 over every file's bytes and the options: equal when nothing changed. */
  fingerprint: string;
  /** Every file read, for watching. */
  files: string[];
}

/** OpenSSL's reason for a bad pair, in words an operator recognises. */
function describeTlsError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/key values mismatch/i.test(message)) return 'the certificate does not match the private key';
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '').trim() || message;
}

/**
 * Reads and checks every certificate of `tls` (paths `listen.tls.*`, `listen.tls.certificates[i]`).
 * Throws a `ConfigError` listing every problem; returns nothing half-loaded.
 */
export function loadTlsMaterial(tls: ListenTlsConfig): TlsMaterial {
  const issues: ConfigIssue[] = [];
  const hash = createHash('sha256').update(`${tls.minVersion}\0${tls.ciphers ?? ''}\0`);
  const common = { minVersion: tls.minVersion, ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}) };
  const build = (certPath: string, keyPath: string, at: string): { options: SecureContextOptions; context: SecureContext } | undefined => {
    const cert = readPem(certPath, `${at}.cert`, issues);
    const key = readPem(keyPath, `${at}.key`, issues);
    if (cert === undefined || key === undefined) return undefined;
    hash.update(cert).update('\0').update(key).update('\0');
    const options: SecureContextOptions = { ...common, cert, key };
    try {
      return { options, context: createSecureContext(options) };
    } catch (err) {
      const reason = describeTlsError(err);
      const cipherProblem = /cipher/i.test(reason);
      issues.push({
        path: cipherProblem ? 'listen.tls.ciphers' : `${at}.cert`,
        message: cipherProblem ? `ciphers "${tls.ciphers}": ${reason}` : `${certPath} and ${keyPath}: ${reason}`,
        hint: cipherProblem ? 'expected an OpenSSL cipher list, see `openssl ciphers -v`' : 'expected a PEM certificate chain and the private key it was issued for',
      });
      return undefined;
    }
  };
  const main = build(tls.cert, tls.key, 'listen.tls');
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  tls.certificates.forEach((entry, i) => {
    const built = build(entry.cert, entry.key, `listen.tls.certificates[${i}]`);
    if (built === undefined) return;
    for (const host of entry.hosts) {
      if (host.startsWith('*.')) wildcard.set(host.slice(1), built.context);
      else exact.set(host, built.context);
    }
  });
  if (issues.length > 0 || main === undefined) throw new ConfigError(dedupe(issues));
  const files = [tls.cert, tls.key, ...tls.certificates.flatMap((c) => [c.cert, c.key])];
  return { defaultOptions: main.options, exact, wildcard, fingerprint: hash.digest('hex'), files };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.message) && seen.add(i.message) !== undefined);
}

/**
 * The context for an SNI `servername`: an exact host first, then a wildcard covering exactly one
 * label (RFC 6125 section 6.4.3: `*.example.com` matches `a.example.com`, not `a.b.example.com`
 * nor `example.com`). Undefined means the default certificate.
 */
export function contextForServername(material: TlsMaterial, servername: string): SecureContext | undefined {
  const name = servername.toLowerCase().replace(/\.$/, '');
  const exact = material.exact.get(name);
  if (exact !== undefined) return exact;
  const dot = name.indexOf('.');
  return dot > 0 ? material.wildcard.get(name.slice(dot)) : undefined;
}
