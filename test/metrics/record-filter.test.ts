/**
 * The record filter of the log pane's `/` (and of `velo logs`): each key against records that
 * should and should not match, several terms ANDed, `|` alternatives ORed, and every kind of
 * mistake reported in words instead of a filter.
 */
import test from 'ava';
import { formatRecordFilter, matchesRecord, parseRecordFilter, type FilterableRecord, type RecordFilter } from '../../src/metrics/record-filter.js';

function rec(overrides: Partial<FilterableRecord> = {}): FilterableRecord {
  return {
    status: 200,
    backend: 'http://10.0.0.2:8082',
    backendName: 'b2',
    pool: 'default',
    method: 'GET',
    path: '/api/users?id=7',
    termination: '-',
    totalMs: 12.5,
    clientIp: '192.168.1.20',
    ...overrides,
  };
}

function filter(text: string): RecordFilter {
  const parsed = parseRecordFilter(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error}`);
  return parsed.filter;
}

/** [filter text, records it must match, records it must not]. */
const CASES: Array<[string, FilterableRecord[], FilterableRecord[]]> = [
  ['', [rec(), rec({ status: 503, backend: undefined })], []],
  ['status:5xx', [rec({ status: 500 }), rec({ status: 599 })], [rec({ status: 499 }), rec({ status: 200 })]],
  ['status:5xx|429', [rec({ status: 502 }), rec({ status: 429 })], [rec({ status: 404 }), rec()]],
  ['status:502', [rec({ status: 502 })], [rec({ status: 503 })]],
  ['STATUS:4XX', [rec({ status: 404 })], [rec()]],
  ['status:0', [rec({ status: 0 })], [rec()]],
  ['backend:b2', [rec()], [rec({ backendName: 'b20', backend: 'http://10.0.0.3:80' }), rec({ backendName: 'b1', backend: 'http://10.0.0.1:8081' })]],
  ['backend:B2', [rec()], [rec({ backendName: 'b1', backend: 'http://10.0.0.1:8081' })]],
  ['backend::8082', [rec({ backendName: 'web' })], [rec({ backend: 'http://10.0.0.2:8083' })]],
  ['backend:10.0.0.2', [rec({ backendName: 'x' })], [rec({ backend: 'http://10.0.0.9:8082', backendName: 'y' })]],
  ['backend:-', [rec({ backend: undefined, backendName: undefined })], [rec()]],
  ['backend:b1|b2', [rec(), rec({ backendName: 'b1', backend: 'http://h:1' })], [rec({ backendName: 'b3', backend: 'http://h:3' })]],
  ['pool:api', [rec({ pool: 'api' })], [rec(), rec({ pool: 'API' }), rec({ pool: undefined })]],
  ['pool:-', [rec({ pool: undefined })], [rec()]],
  ['method:get', [rec()], [rec({ method: 'POST' })]],
  ['method:POST|PUT', [rec({ method: 'PUT' })], [rec()]],
  ['path:/api/*', [rec(), rec({ path: '/api/' }), rec({ path: '/api/a/b/c' })], [rec({ path: '/apix' }), rec({ path: '/v1/api/users' })]],
  ['path:/api/users', [rec(), rec({ path: '/api/users' })], [rec({ path: '/api/users/7' })]],
  ['path:*.png', [rec({ path: '/img/a.png?v=2' })], [rec({ path: '/img/a.png.html' })]],
  ['path:/a.b', [rec({ path: '/a.b' })], [rec({ path: '/aXb' })]],
  ['flag:UF', [rec({ termination: 'UF' })], [rec(), rec({ termination: 'UT' })]],
  ['flag:uf|dc', [rec({ termination: 'DC' })], [rec()]],
  ['flag:-', [rec()], [rec({ termination: 'UC' })]],
  ['slower:500ms', [rec({ totalMs: 500.1 }), rec({ totalMs: 2000 })], [rec({ totalMs: 500 }), rec()]],
  ['slower:1s', [rec({ totalMs: 1001 })], [rec({ totalMs: 999 })]],
  ['slower:250', [rec({ totalMs: 251 })], [rec({ totalMs: 250 })]],
  ['client:192.168.1.20', [rec(), rec({ clientIp: '::ffff:192.168.1.20' })], [rec({ clientIp: '192.168.1.2' })]],
  ['client:192.168.0.0/16', [rec(), rec({ clientIp: '192.168.200.1' })], [rec({ clientIp: '10.0.0.1' })]],
  ['client:2001:db8::/32', [rec({ clientIp: '2001:db8::1' })], [rec()]],
  ['client:10.0.0.1|192.168.1.20', [rec()], [rec({ clientIp: '10.0.0.2' })]],
  ['status:5xx backend:b2', [rec({ status: 503 })], [rec({ status: 503, backendName: 'b1', backend: 'http://h:1' }), rec({ status: 200 })]],
  ['  method:GET   path:/api/*  slower:10ms ', [rec()], [rec({ totalMs: 5 }), rec({ method: 'HEAD' })]],
];

for (const [text, yes, no] of CASES) {
  test(`filter "${text}"`, (t) => {
    const f = filter(text);
    for (const r of yes) t.true(matchesRecord(f, r), `matches ${JSON.stringify(r)}`);
    for (const r of no) t.false(matchesRecord(f, r), `does not match ${JSON.stringify(r)}`);
  });
}

/** [filter text, words the error must contain]. */
const ERRORS: Array<[string, RegExp]> = [
  ['status', /"status" is not key:value; keys: status, backend, pool, method, path, flag, slower, client/],
  ['5xx', /"5xx" is not key:value/],
  [':5xx', /is not key:value/],
  ['colour:red', /unknown key "colour"/],
  ['status:', /status: needs a value; expected a class such as 5xx/],
  ['status:6xx', /"6xx" is not valid for status:/],
  ['status:5xx|', /status: needs a value/],
  ['status:600', /"600" is not valid for status:/],
  ['status:abc', /"abc" is not valid for status:/],
  ['slower:fast', /"fast" is not valid for slower:; expected a duration such as 500ms/],
  ['slower:1s|2s', /"1s\|2s" is not valid for slower:/],
  ['client:10.0.0.300', /"10.0.0.300" is not valid for client:; expected a client IP or CIDR/],
  ['client:10.0.0.0/33', /not valid for client:/],
  ['flag:XX', /"XX" is not valid for flag:; expected a termination flag/],
  ['method:G E', /"E" is not key:value/],
  ['method:G/T', /"G\/T" is not valid for method:/],
  ['path:api', /"api" is not valid for path:; expected a path glob such as \/api\/\*/],
  ['status:5xx nonsense', /"nonsense" is not key:value/],
];

for (const [text, error] of ERRORS) {
  test(`filter "${text}" is refused with a reason`, (t) => {
    const parsed = parseRecordFilter(text);
    t.false(parsed.ok);
    if (!parsed.ok) t.regex(parsed.error, error);
  });
}

test('a filter is plain data that reads back as canonical text', (t) => {
  const f = filter('STATUS:5xx|502 method:get flag:uf slower:1500ms backend:b2');
  t.deepEqual(f.terms, [
    { key: 'status', values: [{ class: 5 }, { code: 502 }] },
    { key: 'method', values: ['GET'] },
    { key: 'flag', values: ['UF'] },
    { key: 'slower', ms: 1500 },
    { key: 'backend', values: ['b2'] },
  ]);
  t.is(formatRecordFilter(f), 'status:5xx|502 method:GET flag:UF slower:1.5s backend:b2');
  t.deepEqual(JSON.parse(JSON.stringify(f)), f, 'survives JSON and postMessage');
});
