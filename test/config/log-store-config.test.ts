import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const parse = (yaml: string) => parseConfigText(yaml, '/srv/velo/velo.config.yaml', { env: {} });

test('access_log.store: path relative to the config file, retention in days, max_size in bytes; off unless written', (t) => {
  t.is(parse('access_log: stdout\n').accessLog.store, undefined);
  t.deepEqual(parse('access_log:\n  store: { path: velo-logs.db, retention: 7d, max_size: 1GB }\n').accessLog.store, { path: '/srv/velo/velo-logs.db', retentionMs: 7 * 86_400_000, maxBytes: 1_000_000_000 });
  t.deepEqual(parse('access_log:\n  store: true\n').accessLog.store, { path: '/srv/velo/velo-logs.db', retentionMs: 7 * 86_400_000, maxBytes: 1_000_000_000 });
  t.deepEqual(parse('access_log:\n  store: { retention: 36h, max_size: 512MiB }\n').accessLog.store, { path: '/srv/velo/velo-logs.db', retentionMs: 36 * 3_600_000, maxBytes: 512 * 1024 * 1024 });
  t.is(parse('access_log:\n  store: false\n').accessLog.store, undefined);
  t.is(parse('access_log:\n  path: stdout\n  store: { path: /var/log/velo.db }\n').accessLog.store?.path, '/var/log/velo.db');
});

test('a bad access_log.store setting is reported with its path and a hint', (t) => {
  const issues = (yaml: string): string[] => {
    const err = t.throws(() => parse(yaml), { instanceOf: ConfigError });
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  };
  t.regex(issues('access_log:\n  store: { retention: soon }\n').join('\n'), /access_log\.store\.retention: .*is not a duration/);
  t.regex(issues('access_log:\n  store: { max_size: huge }\n').join('\n'), /access_log\.store\.max_size: .*is not a size/);
  t.regex(issues('access_log:\n  store: { colour: red }\n').join('\n'), /access_log\.store\.colour/);
});
