/**
 * Properties of the record filter over generated filters and records: parsing never throws,
 * a filter's canonical text parses to the same filter, terms are ANDed (a filter matches
 * exactly when each of its terms alone does), alternatives are ORed, and a status class
 * matches exactly the statuses of its hundred.
 */
import test from 'ava';
import fc from 'fast-check';
import { formatRecordFilter, matchesRecord, parseRecordFilter, type FilterableRecord, type RecordFilter, type RecordTerm } from '../../src/metrics/record-filter.js';
import type { TerminationCause } from '../../src/engine/request-record.js';

const FLAGS: TerminationCause[] = ['-', 'UF', 'UT', 'UC', 'UH', 'UO', 'DC', 'RL', 'NR', 'DN', 'DPE', 'SI', 'SD'];
const names = fc.constantFrom('b1', 'b2', 'b10', 'web-1', 'api');
const pools = fc.constantFrom('default', 'api', 'static');
const methods = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD');
const ips = fc.constantFrom('10.0.0.1', '10.0.0.2', '192.168.1.5', '::1', '2001:db8::7');
const paths = fc.constantFrom('/', '/api/users', '/api/users?id=1', '/img/a.png', '/api', '/health');

const record: fc.Arbitrary<FilterableRecord> = fc.record({
  status: fc.integer({ min: 0, max: 599 }),
  backendName: fc.option(names, { nil: undefined }),
  port: fc.integer({ min: 8081, max: 8084 }),
  pool: fc.option(pools, { nil: undefined }),
  method: methods,
  path: paths,
  termination: fc.constantFrom(...FLAGS),
  totalMs: fc.double({ min: 0, max: 5000, noNaN: true }),
  clientIp: ips,
}).map(({ port, ...r }) => ({ ...r, backend: r.backendName === undefined ? undefined : `http://127.0.0.1:${port}` }));

const alternatives = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 3 });
const term: fc.Arbitrary<RecordTerm> = fc.oneof(
  alternatives(fc.oneof(fc.integer({ min: 1, max: 5 }).map((c) => ({ class: c })), fc.integer({ min: 100, max: 599 }).map((code) => ({ code })))).map((values) => ({ key: 'status' as const, values })),
  alternatives(fc.oneof(names, fc.constant('-'), fc.constantFrom(':8081', '127.0.0.1'))).map((values) => ({ key: 'backend' as const, values })),
  alternatives(fc.oneof(pools, fc.constant('-'))).map((values) => ({ key: 'pool' as const, values })),
  alternatives(methods).map((values) => ({ key: 'method' as const, values })),
  alternatives(fc.constantFrom('/api/*', '/', '*.png', '/health', '*')).map((values) => ({ key: 'path' as const, values })),
  alternatives(fc.constantFrom(...FLAGS)).map((values) => ({ key: 'flag' as const, values: values as string[] })),
  fc.integer({ min: 0, max: 5000 }).map((ms) => ({ key: 'slower' as const, ms })),
  alternatives(fc.oneof(ips, fc.constantFrom('10.0.0.0/8', '2001:db8::/32'))).map((values) => ({ key: 'client' as const, values })),
);
const filterArb: fc.Arbitrary<RecordFilter> = fc.array(term, { maxLength: 4 }).map((terms) => ({ terms }));

test('parsing any text never throws and gives a filter or an error in words', (t) => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      const parsed = parseRecordFilter(text);
      return parsed.ok ? Array.isArray(parsed.filter.terms) : parsed.error.length > 0;
    }),
  );
  t.pass();
});

test('a filter\'s canonical text parses back to the same filter, which matches the same records', (t) => {
  fc.assert(
    fc.property(filterArb, fc.array(record, { maxLength: 10 }), (f, records) => {
      const parsed = parseRecordFilter(formatRecordFilter(f));
      if (!parsed.ok) return false;
      return JSON.stringify(parsed.filter) === JSON.stringify(f) && records.every((r) => matchesRecord(parsed.filter, r) === matchesRecord(f, r));
    }),
  );
  t.pass();
});

test('terms are ANDed: a filter matches exactly when each of its terms alone does', (t) => {
  fc.assert(
    fc.property(filterArb, record, (f, r) => matchesRecord(f, r) === f.terms.every((term) => matchesRecord({ terms: [term] }, r))),
  );
  t.pass();
});

test('alternatives are ORed: a term matches exactly when one of its values alone does', (t) => {
  fc.assert(
    fc.property(term, record, (tm, r) => {
      if (tm.key === 'slower') return true;
      const one = (tm.values as unknown[]).map((v) => ({ ...tm, values: [v] }) as RecordTerm);
      return matchesRecord({ terms: [tm] }, r) === one.some((o) => matchesRecord({ terms: [o] }, r));
    }),
  );
  t.pass();
});

test('status:Nxx matches exactly the statuses from N00 to N99', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), record, (cls, r) => {
      const parsed = parseRecordFilter(`status:${cls}xx`);
      return parsed.ok && matchesRecord(parsed.filter, r) === (r.status >= cls * 100 && r.status <= cls * 100 + 99);
    }),
  );
  t.pass();
});
