/**
 * Filters over request records, written as the dashboard's log pane takes them after `/` (and
 * as `velo logs` and `GET /api/logs` may): space-separated `key:value` terms, all of which must
 * match, each value a `|`-separated list of alternatives of which one must, e.g.
 * `status:5xx|429 backend:b2 path:/api/*`. Parsing yields plain data (reusable to build a
 * query elsewhere); `matchesRecord` tests one record against it.
 */
import net from 'node:net';
import type { RequestRecord, TerminationCause } from '../engine/request-record.js';
import { formatDuration, parseDuration } from '../config/parse-duration.js';
import { IpMatcher, normalizeIp } from '../resilience/ip-filter.js';

/** The fields a filter looks at. */
export type FilterableRecord = Pick<RequestRecord, 'status' | 'backend' | 'backendName' | 'pool' | 'method' | 'path' | 'termination' | 'totalMs' | 'clientIp'>;

/** One alternative of a `status:` term: a class (`5xx` is 5) or an exact code. */
export type StatusValue = { class: number } | { code: number };

/**
 * One term; within it any value may match. `backend` and `pool` take `-` for "none" (a request
 * velo answered itself). `path` values are globs whose `*` matches any characters.
 */
export type RecordTerm =
  | { key: 'status'; values: StatusValue[] }
  | { key: 'backend' | 'pool' | 'method' | 'path' | 'flag' | 'client'; values: string[] }
  /** `total_ms` strictly above `ms`. */
  | { key: 'slower'; ms: number };

/** Terms that must all match; no terms matches every record. */
export interface RecordFilter {
  terms: RecordTerm[];
}

/** The keys a filter knows, in the order the help and errors list them. */
export const FILTER_KEYS = ['status', 'backend', 'pool', 'method', 'path', 'flag', 'slower', 'client'] as const;

/** What each key takes, for help text and errors. */
export const FILTER_KEY_HINTS: Readonly<Record<(typeof FILTER_KEYS)[number], string>> = {
  status: 'a class such as 5xx or a code such as 502',
  backend: 'a backend name, part of its URL, or - for none',
  pool: 'a pool name, or - for none',
  method: 'an HTTP method such as GET',
  path: 'a path glob such as /api/* (the query is not matched)',
  flag: 'a termination flag: - UF UT UC UH UO DC RL NR DN DPE SI SD',
  slower: 'a duration such as 500ms or 2s (total time above it)',
  client: 'a client IP or CIDR such as 10.0.0.0/8',
};

const FLAGS: ReadonlySet<TerminationCause> = new Set(['-', 'UF', 'UT', 'UC', 'UH', 'UO', 'DC', 'RL', 'NR', 'DN', 'DPE', 'SI', 'SD']);
const METHOD = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/;

/** The parse of a filter text: the filter, or the first problem in words. */
export type FilterParse = { ok: true; filter: RecordFilter } | { ok: false; error: string };

function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function parseStatus(value: string): StatusValue | undefined {
  const cls = /^([1-5])xx$/i.exec(value);
  if (cls !== null) return { class: Number(cls[1]) };
  if (/^\d{1,3}$/.test(value) && Number(value) <= 599) return { code: Number(value) };
  return undefined;
}

/** One `key:value` term, or the problem with it. */
function parseTerm(word: string): RecordTerm | string {
  const colon = word.indexOf(':');
  if (colon <= 0) return `"${word}" is not key:value; keys: ${FILTER_KEYS.join(', ')} (e.g. status:5xx backend:b2)`;
  const key = word.slice(0, colon).toLowerCase();
  const raw = word.slice(colon + 1);
  if (!(FILTER_KEYS as readonly string[]).includes(key)) return `unknown key "${key}" in "${word}"; keys: ${FILTER_KEYS.join(', ')}`;
  const k = key as (typeof FILTER_KEYS)[number];
  const values = raw.split('|');
  const bad = (v: string): string => `${v === '' ? `${k}: needs a value` : `"${v}" is not valid for ${k}:`}; expected ${FILTER_KEY_HINTS[k]}`;
  const empty = values.find((v) => v === '');
  if (empty !== undefined) return bad('');
  switch (k) {
    case 'status': {
      const parsed: StatusValue[] = [];
      for (const v of values) {
        const s = parseStatus(v);
        if (s === undefined) return bad(v);
        parsed.push(s);
      }
      return { key: k, values: parsed };
    }
    case 'slower': {
      const ms = values.length === 1 ? parseDuration(values[0]!) : undefined;
      return ms === undefined ? bad(raw) : { key: k, ms };
    }
    case 'method': {
      const wrong = values.find((v) => !METHOD.test(v));
      return wrong !== undefined ? bad(wrong) : { key: k, values: values.map((v) => v.toUpperCase()) };
    }
    case 'flag': {
      const wrong = values.find((v) => !FLAGS.has(v.toUpperCase() as TerminationCause));
      return wrong !== undefined ? bad(wrong) : { key: k, values: values.map((v) => v.toUpperCase()) };
    }
    case 'path': {
      const wrong = values.find((v) => !v.startsWith('/') && !v.startsWith('*'));
      return wrong !== undefined ? bad(wrong) : { key: k, values };
    }
    case 'client': {
      const wrong = values.find((v) => !isIpOrCidr(v));
      return wrong !== undefined ? bad(wrong) : { key: k, values };
    }
    default:
      return { key: k, values };
  }
}

/** Parses filter text; blank text is the empty filter. Never throws. */
export function parseRecordFilter(text: string): FilterParse {
  const terms: RecordTerm[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    const term = parseTerm(word);
    if (typeof term === 'string') return { ok: false, error: term };
    terms.push(term);
  }
  return { ok: true, filter: { terms } };
}

/** The canonical text of `filter`: parsing it gives an equal filter. */
export function formatRecordFilter(filter: RecordFilter): string {
  return filter.terms
    .map((t) => {
      if (t.key === 'slower') return `slower:${formatDuration(t.ms)}`;
      if (t.key === 'status') return `status:${t.values.map((v) => ('class' in v ? `${v.class}xx` : String(v.code))).join('|')}`;
      return `${t.key}:${t.values.join('|')}`;
    })
    .join(' ');
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}

/** Compiled path globs and client lists, made once per term. */
const compiled = new WeakMap<RecordTerm, RegExp[] | IpMatcher>();

function pathMatches(term: RecordTerm & { values: string[] }, path: string): boolean {
  let globs = compiled.get(term) as RegExp[] | undefined;
  if (globs === undefined) compiled.set(term, (globs = term.values.map(globToRegExp)));
  const q = path.indexOf('?');
  const bare = q === -1 ? path : path.slice(0, q);
  return globs.some((g) => g.test(bare));
}

function clientMatches(term: RecordTerm & { values: string[] }, ip: string): boolean {
  let matcher = compiled.get(term) as IpMatcher | undefined;
  if (matcher === undefined) compiled.set(term, (matcher = new IpMatcher(term.values.map(normalizeIp))));
  return matcher.matches(normalizeIp(ip));
}

function backendMatches(value: string, r: FilterableRecord): boolean {
  if (value === '-') return r.backend === undefined;
  const v = value.toLowerCase();
  // The whole name (b1 must not match b10), or any part of the URL.
  return r.backendName?.toLowerCase() === v || (r.backend?.toLowerCase().includes(v) ?? false);
}

function termMatches(term: RecordTerm, r: FilterableRecord): boolean {
  switch (term.key) {
    case 'status':
      return term.values.some((v) => ('class' in v ? Math.floor(r.status / 100) === v.class : r.status === v.code));
    case 'backend':
      return term.values.some((v) => backendMatches(v, r));
    case 'pool':
      return term.values.some((v) => (v === '-' ? r.pool === undefined : r.pool === v));
    case 'method':
      return term.values.includes(r.method.toUpperCase());
    case 'path':
      return pathMatches(term, r.path);
    case 'flag':
      return term.values.includes(r.termination);
    case 'slower':
      return r.totalMs > term.ms;
    case 'client':
      return clientMatches(term, r.clientIp);
  }
}

/** True when `record` matches every term of `filter` (one of each term's values). */
export function matchesRecord(filter: RecordFilter, record: FilterableRecord): boolean {
  for (const term of filter.terms) if (!termMatches(term, record)) return false;
  return true;
}
