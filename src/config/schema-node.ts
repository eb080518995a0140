/**
 * Typed, located reads from a parsed YAML document. Every read either returns a valid value or
 * records a `ConfigIssue` (dotted path, line, column, hint) and returns the default, so one pass
 * over a config collects every problem instead of stopping at the first.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { parseDuration } from './parse-duration.js';

/** Collects issues and knows where every node of one document sits in its text. */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly doc?: Document,
    private readonly lineCounter?: LineCounter,
  ) {}

  /** The node an alias points to; `undefined` for absent or `null` values. */
  resolve(node: unknown): Node | undefined {
    let n = node;
    if (isAlias(n) && this.doc !== undefined) n = n.resolve(this.doc);
    if (n === null || n === undefined) return undefined;
    if (isScalar(n) && n.value === null) return undefined;
    return n as Node;
  }

  /** 1-based line and column where `node` starts, when known. */
  locate(node: unknown): { line?: number; column?: number } {
    const range = (node as Node | undefined)?.range;
    if (range === undefined || range === null || this.lineCounter === undefined) return {};
    const pos = this.lineCounter.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  }

  /** Records one problem at `node` (or without a position when the node is unknown). */
  report(path: string, node: unknown, message: string, hint?: string): void {
    this.issues.push({ path, ...this.locate(node), message, ...(hint !== undefined ? { hint } : {}) });
  }
}

/** `a.b`, `a[0]` and `b` (at the root) joined the way issue paths are written. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  // A key that is empty, blank or not a plain name is quoted, so the path still names it.
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** A short rendering of what the user wrote, for messages. */
export function describeNode(node: Node | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return JSON.stringify(node.value) ?? String(node.value);
  return 'an unsupported value';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The candidate nearest to `word` (ignoring case, `-` and `_`), if it is near enough to be a typo. */
export function nearestName(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(norm(word), norm(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Bounds of a number read from the config. */
export interface NumberRule {
  min?: number;
  max?: number;
  /** `min` itself is not allowed (`> min` instead of `>= min`). */
  exclusiveMin?: boolean;
  integer?: boolean;
}

function describeRule(rule: NumberRule): string {
  const what = rule.integer === true ? 'a whole number' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) return `${what} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${what} ${rule.exclusiveMin === true ? '>' : '>='} ${rule.min}`;
  if (rule.max !== undefined) return `${what} <= ${rule.max}`;
  return what;
}

/** A number within `rule`, or undefined after recording why not. Digit-only strings are accepted. */
export function readNumber(c: IssueCollector, node: Node, path: string, rule: NumberRule): number | undefined {
  const raw = isScalar(node) ? node.value : undefined;
  const value = typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    (rule.min === undefined || value > rule.min || (value === rule.min && rule.exclusiveMin !== true)) &&
    (rule.max === undefined || value <= rule.max);
  if (ok) return value;
  const finite = typeof value === 'number' && Number.isFinite(value);
  const kind = !finite ? 'not a number' : rule.integer === true && !Number.isInteger(value) ? 'not a whole number' : 'out of range';
  c.report(path, node, `${describeNode(node)} is ${kind}`, `expected ${describeRule(rule)}`);
  return undefined;
}

/** A duration in ms (`250ms`, `5s`, `1m30s`, or a number of ms) of at least `minMs`. */
export function readDuration(c: IssueCollector, node: Node, path: string, minMs = 0): number | undefined {
  const raw = isScalar(node) ? node.value : undefined;
  const ms = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : undefined;
  if (ms === undefined) {
    c.report(path, node, `${describeNode(node)} is not a duration`, 'expected a duration such as 250ms, 5s, 1m or 1m30s');
    return undefined;
  }
  if (ms < minMs) {
    c.report(path, node, `${describeNode(node)} is too short`, `expected at least ${minMs}ms`);
    return undefined;
  }
  return ms;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Bytes for `65536`, `64KiB`, `1MB` (SI) or `1MiB` (binary); undefined for anything else. */
export function parseByteSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  if (m === null) return undefined;
  const factor = SIZE_UNITS[(m[2] ?? '').toLowerCase() || 'b'];
  return factor === undefined ? undefined : Math.round(Number(m[1]) * factor);
}

/** A boolean (`true`/`false`, never `yes`/`on`), or undefined after recording why not. */
export function readBool(c: IssueCollector, node: Node, path: string): boolean | undefined {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  c.report(path, node, `${describeNode(node)} is not a boolean`, 'expected true or false');
  return undefined;
}

/** A non-empty string (numbers are not strings here), or undefined after recording why not. */
export function readString(c: IssueCollector, node: Node, path: string, hint = 'expected a text value'): string | undefined {
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return node.value.trim();
  c.report(path, node, `${describeNode(node)} is not a non-empty string`, hint);
  return undefined;
}

/** The items of a list (a single value counts as a one-item list when `allowSingle`). */
export function readList(
  c: IssueCollector,
  node: Node,
  path: string,
  what: string,
  allowSingle = false,
): Array<{ node: Node | undefined; path: string }> | undefined {
  if (isSeq(node)) return node.items.map((item, i) => ({ node: c.resolve(item), path: childPath(path, i) }));
  if (allowSingle && isScalar(node)) return [{ node, path }];
  c.report(path, node, `${describeNode(node)} is not a list`, `expected a list of ${what}`);
  return undefined;
}

/**
 * One mapping of the config, checked against its allowed keys when constructed: unknown keys and
 * non-mappings are reported once, after which reads return defaults for anything invalid.
 */
export class MapReader {
  private readonly entries = new Map<string, { key: Node; value: Node | undefined }>();

  constructor(
    readonly c: IssueCollector,
    readonly node: Node | undefined,
    readonly path: string,
    readonly allowed: readonly string[],
  ) {
    if (node === undefined) return;
    if (!isMap(node)) {
      c.report(path || '(root)', node, `${describeNode(node)} is not a mapping`, `expected keys: ${allowed.join(', ')}`);
      return;
    }
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) {
        c.report(path || '(root)', keyNode, 'keys must be plain names', `expected keys: ${allowed.join(', ')}`);
      } else if (!allowed.includes(key)) {
        const near = nearestName(key, allowed);
        const hint = near !== undefined ? `did you mean "${near}"?` : `valid keys here: ${allowed.join(', ')}`;
        c.report(childPath(path, key), keyNode, `unknown key "${key}"`, hint);
      } else {
        this.entries.set(key, { key: keyNode, value: c.resolve(pair.value) });
      }
    }
  }

  /** True when `key` is present with a non-null value. */
  has(key: string): boolean {
    return this.entries.get(key)?.value !== undefined;
  }

  /** True when `key` is written at all, even as `key:` with no value. */
  written(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keys present in this mapping, in file order. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The value node of `key`, if present and not null. */
  get(key: string): Node | undefined {
    return this.entries.get(key)?.value;
  }

  /** The key node of `key`, for reporting on a key itself. */
  keyNode(key: string): Node | undefined {
    return this.entries.get(key)?.key;
  }

  /** Dotted path of `key` under this mapping. */
  at(key: string): string {
    return childPath(this.path, key);
  }

  /** A nested mapping (empty when absent). */
  map(key: string, allowed: readonly string[]): MapReader {
    return new MapReader(this.c, this.get(key), this.at(key), allowed);
  }

  private read<T>(key: string, def: T, read: (node: Node, path: string) => T | undefined): T {
    const node = this.get(key);
    return node === undefined ? def : (read(node, this.at(key)) ?? def);
  }

  number(key: string, def: number, rule: NumberRule): number {
    return this.read(key, def, (n, p) => readNumber(this.c, n, p, rule));
  }

  int(key: string, def: number, rule: Omit<NumberRule, 'integer'>): number {
    return this.number(key, def, { ...rule, integer: true });
  }

  bool(key: string, def: boolean): boolean {
    return this.read(key, def, (n, p) => readBool(this.c, n, p));
  }

  string(key: string, def: string, hint?: string): string {
    return this.read(key, def, (n, p) => readString(this.c, n, p, hint));
  }

  optionalString(key: string, hint?: string): string | undefined {
    const node = this.get(key);
    return node === undefined ? undefined : readString(this.c, node, this.at(key), hint);
  }

  duration(key: string, defMs: number, minMs = 0): number {
    return this.read(key, defMs, (n, p) => readDuration(this.c, n, p, minMs));
  }

  /** One of `values` (compared case-sensitively as written in the contract). */
  oneOf<T extends string>(key: string, def: T, values: readonly T[]): T {
    return this.read(key, def, (n, p) => {
      if (isScalar(n) && values.includes(n.value as T)) return n.value as T;
      const near = isScalar(n) ? nearestName(String(n.value), values) : undefined;
      this.c.report(p, n, `${describeNode(n)} is not valid here`, `expected one of: ${values.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`);
      return undefined;
    });
  }

  /** A size in bytes (`65536`, `64KiB`, `1MiB`). */
  bytes(key: string, def: number): number {
    return this.read(key, def, (n, p) => {
      const raw = isScalar(n) ? n.value : undefined;
      const size = typeof raw === 'string' || typeof raw === 'number' ? parseByteSize(raw) : undefined;
      if (size !== undefined) return size;
      this.c.report(p, n, `${describeNode(n)} is not a size`, 'expected bytes such as 65536, 64KiB or 1MiB');
      return undefined;
    });
  }

  /**
   * A section that may be written as `true`/`false` or as a mapping. A mapping without an
   * `enabled:` key turns the feature on, since writing its settings means wanting it.
   */
  toggle(key: string, defEnabled: boolean, allowed: readonly string[]): { enabled: boolean; section: MapReader } {
    const node = this.get(key);
    if (node !== undefined && !isMap(node)) {
      const ok = isScalar(node) && typeof node.value === 'boolean';
      if (!ok) this.c.report(this.at(key), node, `${describeNode(node)} is not a boolean or a mapping`, `expected true, false or a mapping with keys: enabled, ${allowed.join(', ')}`);
      const enabled = ok ? (node as { value: boolean }).value : defEnabled;
      return { enabled, section: new MapReader(this.c, undefined, this.at(key), allowed) };
    }
    const section = this.map(key, ['enabled', ...allowed]);
    const implied = node !== undefined ? true : defEnabled;
    return { enabled: section.bool('enabled', implied), section };
  }
}
