/**
 * Writes runtime changes into a config file's text by splicing only the bytes that change:
 * every comment, blank line, key order, quoting and alignment elsewhere stays exactly as the
 * operator wrote it. The yaml package's Document locates the nodes (their source ranges); it
 * is not used to re-print the file, because `Document.toString()` re-indents comments and
 * collapses the spaces before trailing comments. Used by `velo config save`.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { VeloError } from '../errors.js';
import { normalizeBackendUrl } from './backend-url.js';
import type { BackendConfig } from './types.js';
import { validateConfigText } from './schema.js';

/**
 * One change to write, shaped like a runtime-overlay entry: the pool's `strategy`, or a
 * backend's `weight`, `drain`, `maintenance`, or whether it is `listed` (with `added`, the
 * settings of a backend to append).
 */
export interface ConfigChange {
  pool: string;
  backend?: string;
  field: 'listed' | 'weight' | 'drain' | 'maintenance' | 'strategy';
  value: boolean | number | string;
  added?: BackendConfig;
}

type Path = Array<string | number>;

function scalarText(v: boolean | number | string): string {
  if (typeof v !== 'string') return String(v);
  // Plain only when it cannot be read as anything else, in block and flow context alike.
  return /^[A-Za-z0-9_.\/-][A-Za-z0-9_.:\/-]*$/.test(v) && !/^(true|false|null|~|[-+.\d].*)$/i.test(v) ? v : JSON.stringify(v);
}

function backendText(b: BackendConfig): string {
  if (b.weight === 1 && b.name === undefined && b.drain !== true && b.maintenance !== true) return scalarText(b.url);
  const parts = [`url: ${scalarText(b.url)}`, `weight: ${b.weight}`];
  if (b.name !== undefined) parts.push(`name: ${scalarText(b.name)}`);
  if (b.drain === true) parts.push('drain: true');
  if (b.maintenance === true) parts.push('maintenance: true');
  return `{ ${parts.join(', ')} }`;
}

/** A text being edited: splices, and positions by line. */
class Source {
  constructor(public text: string) {}

  splice(start: number, end: number, insert: string): void {
    this.text = this.text.slice(0, start) + insert + this.text.slice(end);
  }

  lineStart(pos: number): number {
    return this.text.lastIndexOf('\n', pos - 1) + 1;
  }

  column(pos: number): number {
    return pos - this.lineStart(pos);
  }

  /** The start of the line after the one `end` is on (`end` itself when it already starts a line). */
  afterLine(end: number): number {
    if (end > 0 && this.text[end - 1] === '\n') return end;
    const nl = this.text.indexOf('\n', end);
    if (nl >= 0) return nl + 1;
    this.text += '\n';
    return this.text.length;
  }
}

function range(node: Node | null | undefined): [number, number] {
  const r = node?.range;
  if (r === undefined || r === null) throw new VeloError('E_CONFLICT', 'the config file has a value velo cannot locate');
  return [r[0], r[1]];
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function setMapKey(src: Source, map: YAMLMap, key: string, valueText: string): void {
  const pair = pairOf(map, key);
  if (pair !== undefined && pair.value !== null) {
    const [start, end] = range(pair.value as Node);
    return src.splice(start, end, valueText);
  }
  const last = map.items.at(-1);
  if (map.flow) {
    if (last === undefined) {
      const [start, end] = range(map as Node);
      return src.splice(start, end, `{ ${key}: ${valueText} }`);
    }
    const [, end] = range((last.value ?? last.key) as Node);
    return src.splice(end, end, `, ${key}: ${valueText}`);
  }
  if (last === undefined) throw new VeloError('E_CONFLICT', `cannot add ${key} to an empty block mapping`);
  const indent = ' '.repeat(src.column(range(map.items[0]!.key as Node)[0]));
  const at = src.afterLine(range((last.value ?? last.key) as Node)[1]);
  src.splice(at, at, `${indent}${key}: ${valueText}\n`);
}

function deleteMapKey(src: Source, map: YAMLMap, key: string): void {
  const i = map.items.findIndex((p) => isScalar(p.key) && p.key.value === key);
  if (i < 0) return;
  const pair = map.items[i]!;
  const [keyStart] = range(pair.key as Node);
  const [, valueEnd] = range((pair.value ?? pair.key) as Node);
  if (map.flow) {
    if (i > 0) return src.splice(range((map.items[i - 1]!.value ?? map.items[i - 1]!.key) as Node)[1], valueEnd, '');
    const next = map.items[1];
    return src.splice(keyStart, next !== undefined ? range(next.key as Node)[0] : valueEnd, '');
  }
  src.splice(src.lineStart(keyStart), src.afterLine(valueEnd), '');
}

function appendItem(src: Source, seq: YAMLSeq, itemText: string): void {
  const items = seq.items as Node[];
  const last = items.at(-1);
  if (seq.flow) {
    if (last === undefined) {
      const [start, end] = range(seq as Node);
      return src.splice(start, end, `[${itemText}]`);
    }
    const [, end] = range(last);
    return src.splice(end, end, `, ${itemText}`);
  }
  if (last === undefined) throw new VeloError('E_CONFLICT', 'cannot add to an empty block sequence');
  const dash = src.text.lastIndexOf('-', range(items[0]!)[0]);
  const indent = ' '.repeat(src.column(dash));
  const at = src.afterLine(range(last)[1]);
  src.splice(at, at, `${indent}- ${itemText}\n`);
}

function deleteItem(src: Source, seq: YAMLSeq, i: number): void {
  const items = seq.items as Node[];
  const [start, end] = range(items[i]!);
  if (seq.flow) {
    if (i > 0) return src.splice(range(items[i - 1]!)[1], end, '');
    const next = items[1];
    return src.splice(start, next !== undefined ? range(next)[0] : end, '');
  }
  const dash = src.text.lastIndexOf('-', start);
  src.splice(src.lineStart(dash), src.afterLine(end), '');
}

function itemUrl(item: unknown): string | undefined {
  const raw = isScalar(item) ? item.value : isMap(item) ? (item.get('url') as unknown) : undefined;
  if (typeof raw !== 'string') return undefined;
  try {
    return normalizeBackendUrl(raw);
  } catch {
    return undefined;
  }
}

/** The path of pool `name` in the document: `[]` in the short form, `['pools', i]` otherwise. */
function poolPath(text: string, name: string): Path {
  const validated = validateConfigText(text);
  const i = validated.config.pools.findIndex((p) => p.name === name);
  const path = i < 0 ? undefined : validated.poolPaths[i];
  if (path === undefined) throw new VeloError('E_CONFLICT', `pool "${name}" is not in the config file (it comes from flags or the environment)`);
  return path === '' ? [] : ['pools', Number(/\[(\d+)\]/.exec(path)![1])];
}

function applyOne(src: Source, change: ConfigChange): void {
  const doc = parseDocument(src.text, { keepSourceTokens: false });
  const path = poolPath(src.text, change.pool);
  const poolMap = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(poolMap)) throw new VeloError('E_CONFLICT', `pool "${change.pool}" is not a mapping in the config file`);
  if (change.field === 'strategy') return setMapKey(src, poolMap, 'strategy', scalarText(change.value));
  const seqNode = poolMap.get('backends', true);
  const seq = isSeq(seqNode) ? seqNode : undefined;
  const index = seq === undefined ? -1 : seq.items.findIndex((item) => itemUrl(item) === change.backend);
  if (change.field === 'listed' && change.value === true) {
    if (index >= 0) return;
    const text = backendText(change.added ?? { url: change.backend!, weight: 1 });
    if (seq === undefined) return setMapKey(src, poolMap, 'backends', `[${text}]`);
    return appendItem(src, seq, text);
  }
  if (seq === undefined || index < 0) throw new VeloError('E_CONFLICT', `backend ${change.backend} of pool "${change.pool}" is not listed in the config file`);
  if (change.field === 'listed') return deleteItem(src, seq, index);
  const item = seq.items[index];
  const on = change.field === 'weight' ? String(change.value) : 'true';
  if (isMap(item)) {
    if (change.field !== 'weight' && change.value === false) return deleteMapKey(src, item, change.field);
    return setMapKey(src, item, change.field, on);
  }
  if (change.field !== 'weight' && change.value === false) return;
  const [start, end] = range(item as Node);
  src.splice(start, end, `{ url: ${src.text.slice(start, end)}, ${change.field}: ${on} }`);
}

/**
 * `text` with `changes` written in, byte for byte the same elsewhere. Throws `E_CONFLICT` when
 * a change has no place in the file (a pool or backend that came from flags or the
 * environment). The caller validates the result.
 */
export function writeChangesIntoYaml(text: string, changes: readonly ConfigChange[]): string {
  const src = new Source(text);
  for (const change of changes) applyOne(src, change);
  return src.text;
}
