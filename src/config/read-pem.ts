/**
 * Reads a PEM file named in the config (listener certificates, a pool's upstream `tls`).
 * A file that cannot be read becomes one issue at the config path `at`, not an exception, so
 * every unreadable file of a config is reported at once.
 */
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from '../errors.js';

/** The file's bytes, or undefined after pushing an issue (`at`: dotted config path) onto `issues`. */
export function readPem(path: string, at: string, issues: ConfigIssue[]): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    issues.push({ path: at, message: `cannot read ${path}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, hint: 'expected a readable PEM file' });
    return undefined;
  }
}
