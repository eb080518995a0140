/**
 * `access_log.format` and `tracing` in the config file (schema.ts): their defaults, the values
 * they take, and bad values reported with path, line, column and what would be valid.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigText } from '../../src/config/schema.js';

test('tracing propagates by default; tracing: { propagate: false } turns it off', (t) => {
  t.deepEqual(parseConfigText('backends: [http://a]').tracing, { propagate: true });
  t.deepEqual(parseConfigText('tracing: { propagate: false }\nbackends: [http://a]').tracing, { propagate: false });
  t.deepEqual(parseConfigText('tracing: {}\nbackends: [http://a]').tracing, { propagate: true });
});

test('access_log.format is json, logfmt or common; absent, the config has none (json)', (t) => {
  t.is(parseConfigText('backends: [http://a]').accessLog.format, undefined);
  for (const format of ['json', 'logfmt', 'common'] as const) {
    t.deepEqual(parseConfigText(`access_log: { path: /var/log/velo.log, format: ${format} }\nbackends: [http://a]`).accessLog, { enabled: true, target: '/var/log/velo.log', format });
  }
});

const BAD: Array<[string, string, number, number, RegExp]> = [
  ['access_log:\n  format: combined', 'access_log.format', 2, 11, /one of: json, logfmt, common/],
  ['access_log:\n  format: jsno', 'access_log.format', 2, 11, /did you mean "json"/],
  ['tracing:\n  propagate: maybe', 'tracing.propagate', 2, 14, /true or false/],
  ['tracing:\n  sample: 0.1', 'tracing.sample', 2, 3, /propagate/],
  ['tracing: yes please', 'tracing', 1, 10, /mapping|propagate/],
];

for (const [text, path, line, column, hint] of BAD) {
  test(`reports ${path} at ${line}:${column} for ${JSON.stringify(text)}`, (t) => {
    const issues = validateConfigText(`${text}\nbackends: [http://a]`, 'velo.config.yaml').issues;
    t.is(issues.length, 1, JSON.stringify(issues));
    t.like(issues[0], { path, line, column });
    t.regex(`${issues[0]!.message} ${issues[0]!.hint ?? ''}`, hint);
  });
}
