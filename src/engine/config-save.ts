/**
 * `velo config save`: the runtime changes written into the config file. The file must still
 * say what the changes were based on; the new text must validate and hold every change; it
 * replaces the file atomically (a temp file in the same directory, then rename), so a reader
 * or a crash sees the old file or the new one, never half of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseConfigText } from '../config/load.js';
import type { VeloConfig } from '../config/types.js';
import { writeChangesIntoYaml } from '../config/yaml-changes.js';
import { ConfigError, VeloError } from '../errors.js';
import { describeChange, fileValue, type OverlayEntry } from './overlay.js';

/** What a save wrote: the file, how many changes, each in words, and the SHA-256 (hex) of the text written. */
export interface SaveResult {
  file: string;
  saved: number;
  changes: string[];
  /** Empty when nothing was written. */
  sha256: string;
}

/**
 * Writes `entries` into `file`. A file that no longer says, for an entry's item, what the
 * entry was based on is `E_CONFLICT` (reload first). Writes
 * nothing when `entries` is empty. Errors: `E_CONFLICT` (file changed, missing or invalid, or a
 * change with no place in it), `E_CONFIG` (the result would not validate: a bug, nothing written).
 */
export async function saveChanges(file: string, entries: readonly OverlayEntry[]): Promise<SaveResult> {
  const changes = entries.map(describeChange);
  if (entries.length === 0) return { file, saved: 0, changes, sha256: '' };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new VeloError('E_CONFLICT', `cannot read ${file}: ${(err as Error).message}`);
  }
  let disk: VeloConfig;
  try {
    disk = parseConfigText(text, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new VeloError('E_CONFLICT', `${file} does not validate now, so velo will not write into it; fix it and reload first (${err.issues[0]?.message ?? 'invalid'})`);
  }
  for (const e of entries) {
    if (fileValue(disk, e.pool, e.backend, e.field) !== e.base) {
      throw new VeloError('E_CONFLICT', `${file} no longer says what the ${describeChange(e)} was based on (edited since velo loaded it, or set by a flag or the environment); run velo reload first`);
    }
  }
  const next = writeChangesIntoYaml(text, entries);
  const written = parseConfigText(next, file);
  for (const e of entries) {
    if (fileValue(written, e.pool, e.backend, e.field) !== e.value) {
      throw new VeloError('E_CONFLICT', `the ${describeChange(e)} has no place in ${file}; nothing was written`);
    }
  }
  await writeAtomically(file, next);
  return { file, saved: entries.length, changes, sha256: createHash('sha256').update(next).digest('hex') };
}

/** Replaces `file` with `text` through a temp file in its directory and a rename; keeps the file's mode. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const mode = (await stat(file).catch(() => undefined))?.mode;
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { mode: mode !== undefined ? mode & 0o777 : 0o644, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
