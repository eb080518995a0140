/**
 * Validation of a pool's `request_headers` and `response_headers`:
 * `{ set: { Name: value }, add: { Name: value }, remove: [Name] }`, names as RFC 9110 tokens,
 * values without CR/LF using only the known `{variables}`, framing and hop-by-hop names refused.
 */
import type { HeaderRules } from '../engine/header-rules.js';
import { HEADER_VARIABLES, PROTECTED_HEADERS } from '../engine/header-rules.js';
import { readList, readString, type MapReader } from './schema-node.js';
import { isMap, isPair, isScalar } from 'yaml';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkName(r: MapReader, path: string, node: unknown, name: string): boolean {
  if (!TOKEN.test(name)) {
    r.c.report(path, node, `"${name}" is not a header name`, 'expected a token such as X-Env (letters, digits and !#$%&\'*+-.^_`|~)');
    return false;
  }
  if (PROTECTED_HEADERS.has(name.toLowerCase())) {
    r.c.report(path, node, `${name} cannot be rewritten`, 'framing and hop-by-hop fields (Connection, Content-Length, Transfer-Encoding, TE, Trailer, Upgrade, Keep-Alive) belong to each connection');
    return false;
  }
  return true;
}

function readPairs(r: MapReader, key: 'set' | 'add'): Array<[string, string]> {
  const node = r.get(key);
  if (node === undefined) return [];
  if (!isMap(node)) {
    r.c.report(r.at(key), node, `${key} must be a mapping`, `expected ${key}: { X-Env: prod }`);
    return [];
  }
  const out: Array<[string, string]> = [];
  for (const item of node.items) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const name = String(item.key.value);
    const path = `${r.at(key)}.${name}`;
    if (!checkName(r, path, item.key, name)) continue;
    const v = item.value;
    const value = isScalar(v) && v.value !== null && typeof v.value !== 'object' ? String(v.value) : undefined;
    if (value === undefined || value === '') {
      r.c.report(path, v ?? item.key, 'a header value is required', 'expected a value such as "prod" or "{client_ip}" (remove: lists names to drop)');
      continue;
    }
    if (/[\r\n\0]/.test(value)) {
      r.c.report(path, item.value, 'a header value cannot contain CR, LF or NUL', 'write it on one line');
      continue;
    }
    const unknown = [...value.matchAll(/\{[^}]*\}/g)].map((m) => m[0]).filter((v) => !(HEADER_VARIABLES as readonly string[]).includes(v));
    if (unknown.length > 0) {
      r.c.report(path, item.value, `unknown variable ${unknown[0]}`, `expected one of ${HEADER_VARIABLES.join(', ')}`);
      continue;
    }
    out.push([name, value]);
  }
  return out;
}

/** The rules under `key` of the pool at `r`, or undefined when absent. */
export function readHeaderRules(r: MapReader, key: 'request_headers' | 'response_headers'): HeaderRules | undefined {
  if (!r.has(key)) return undefined;
  const m = r.map(key, ['set', 'add', 'remove']);
  const remove: string[] = [];
  const node = m.get('remove');
  for (const item of node !== undefined ? (readList(m.c, node, m.at('remove'), 'header names such as Server', true) ?? []) : []) {
    const name = item.node !== undefined ? readString(m.c, item.node, item.path, 'expected a header name') : undefined;
    if (name !== undefined && checkName(m, item.path, item.node, name)) remove.push(name.toLowerCase());
  }
  const set = readPairs(m, 'set');
  const add = readPairs(m, 'add');
  if (remove.length + set.length + add.length === 0) return undefined;
  return { remove, set: set.map(([n, v]) => [n.toLowerCase(), v]), add: add.map(([n, v]) => [n.toLowerCase(), v]) };
}
