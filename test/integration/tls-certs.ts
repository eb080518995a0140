/**
 * Certificates made with `openssl` at test time in a temp directory (removed at teardown): a CA,
 * leaf certificates signed by it or self-signed, with DNS and IP subject alternative names.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export interface Pem {
  cert: string;
  key: string;
  /** The certificate's serial number as `openssl x509 -serial` prints it (upper-case hex). */
  serial: string;
}

/** A fresh temp directory for `t`, removed at teardown. */
export function certDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'velo-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Writes `<name>.pem` and `<name>.key` into `dir`: a P-256 certificate for `names` (`DNS:` names,
 * or `IP:` when they look like an address), self-signed unless `ca` is given; `isCa` makes a CA.
 */
export function makeCert(dir: string, name: string, names: string[], opts: { ca?: Pem; isCa?: boolean } = {}): Pem {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ext = [...(san ? ['-addext', `subjectAltName=${san}`] : []), ...(opts.isCa ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : [])];
  const subj = `/CN=${names[0] ?? name}`;
  if (opts.ca === undefined) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', subj, ...ext]);
  } else {
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subj, ...ext]);
    openssl(['x509', '-req', '-in', csr, '-CA', opts.ca.cert, '-CAkey', opts.ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-copy_extensions', 'copy']);
  }
  const serial = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-serial'], { encoding: 'utf8' }).trim().replace(/^serial=/, '');
  return { cert, key, serial };
}

/** The PEM text of a file. */
export function pem(path: string): string {
  return readFileSync(path, 'utf8');
}
