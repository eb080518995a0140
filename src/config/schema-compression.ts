/**
 * Validation of a pool's `compression: { algorithms, min_size, types }` (or `compression: true`
 * for the defaults; src/engine/compression.ts, docs/rewriting.md).
 */
import { COMPRESSION_ALGORITHMS, type CompressionAlgorithm, type CompressionConfig } from '../engine/compression.js';
import { COMPRESSION_DEFAULTS } from './defaults.js';
import { describeNode, readList, readString, type MapReader } from './schema-node.js';
import { isScalar } from 'yaml';

/** `type/subtype` or `type/*` of RFC 9110 tokens (section 8.3.1), no parameters. */
const MEDIA_RANGE = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/(\*|[!#$%&'*+\-.^_`|~0-9a-z]+)$/;

/** The pool's compression settings, or undefined when off (the default). */
export function readCompression(r: MapReader): CompressionConfig | undefined {
  if (!r.written('compression')) return undefined;
  const { enabled, section: c } = r.toggle('compression', false, ['algorithms', 'min_size', 'types']);
  const d = COMPRESSION_DEFAULTS;
  let algorithms = [...d.algorithms];
  const algoNode = c.get('algorithms');
  if (algoNode !== undefined) {
    const read: CompressionAlgorithm[] = [];
    const items = readList(c.c, algoNode, c.at('algorithms'), 'codings such as br, gzip', true) ?? [];
    for (const item of items) {
      const raw = item.node !== undefined && isScalar(item.node) ? String(item.node.value).trim().toLowerCase() : undefined;
      if (raw === undefined || !(COMPRESSION_ALGORITHMS as readonly string[]).includes(raw)) {
        c.c.report(item.path, item.node ?? algoNode, `${item.node !== undefined ? describeNode(item.node) : 'an empty entry'} is not a compression algorithm`, `expected ${COMPRESSION_ALGORITHMS.join(' or ')}, in order of preference`);
      } else if (read.includes(raw as CompressionAlgorithm)) {
        c.c.report(item.path, item.node, `${raw} is listed twice`, 'list each algorithm once, in order of preference');
      } else {
        read.push(raw as CompressionAlgorithm);
      }
    }
    if (items.length === 0) c.c.report(c.at('algorithms'), algoNode, 'no compression algorithm listed', 'expected [br, gzip], [gzip] or [br]; or compression: false');
    if (read.length > 0) algorithms = read;
  }
  const minBytes = c.bytes('min_size', d.minBytes);
  let types = [...d.types];
  const typesNode = c.get('types');
  if (typesNode !== undefined) {
    const read: string[] = [];
    for (const item of readList(c.c, typesNode, c.at('types'), 'media types such as text/html or text/*', true) ?? []) {
      const raw = item.node !== undefined ? readString(c.c, item.node, item.path, 'expected a media type such as application/json') : undefined;
      if (raw === undefined) continue;
      const type = raw.toLowerCase();
      if (MEDIA_RANGE.test(type) && !type.startsWith('*')) read.push(type);
      else c.c.report(item.path, item.node, `"${raw}" is not a media type`, 'expected type/subtype or type/* without parameters, e.g. application/json or text/*');
    }
    if (read.length > 0) types = read;
  }
  return enabled ? { algorithms, minBytes, types } : undefined;
}
