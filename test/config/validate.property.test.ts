/**
 * Property tests of config validation: on any YAML-ish input (arbitrary objects built from the
 * real keys and junk, written as YAML or JSON, or raw text) validation never throws, and
 * every issue names a path.
 */
import test from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigText, TOP_KEYS } from '../../src/config/schema.js';
import { POOL_KEYS } from '../../src/config/schema-pool.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';

const KEYS = [...TOP_KEYS, ...POOL_KEYS, 'host', 'port', 'url', 'weight', 'name', 'match', 'path_prefix', 'interval', 'enabled', 'token', 'allow', 'deny', 'size', 'timeout', 'rps', 'burst', 'cookie', 'cert', 'key'];
const junkKey = fc.string({ maxLength: 8 });
const scalar = fc.oneof(
  fc.constantFrom('http://127.0.0.1:8081', '127.0.0.1', '0.0.0.0', '5s', '250ms', 'round-robin', 'ip-hash', 'rr', '10.0.0.0/8', '', 'null', '~', 'yes'),
  fc.string({ maxLength: 16 }),
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), junkKey), tie('node'), { maxKeys: 5 }),
  ),
})).node;
const document = fc.dictionary(fc.oneof({ arbitrary: fc.constantFrom(...KEYS), weight: 4 }, junkKey), value, { maxKeys: 8 });

function checkIssues(issues: readonly ConfigIssue[]): boolean {
  return issues.every((i) => typeof i.path === 'string' && i.path.trim() !== '' && typeof i.message === 'string' && i.message !== '');
}

test('validateConfigText never throws on arbitrary objects written as YAML or JSON, and every issue names a path', (t) => {
  fc.assert(
    fc.property(document, fc.boolean(), (doc, asJson) => {
      const text = asJson ? JSON.stringify(doc) : stringify(doc);
      const result = validateConfigText(text, 'fuzz.yaml');
      return checkIssues(result.issues);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('validateConfigText never throws on arbitrary text, and every issue names a path', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (text) => checkIssues(validateConfigText(text).issues)),
    { numRuns: 300 },
  );
  t.pass();
});

test('parseConfigText either returns a config or throws a ConfigError whose every issue names a path', (t) => {
  let rejected = 0;
  fc.assert(
    fc.property(document, (doc) => {
      try {
        parseConfigText(stringify(doc), undefined, { flags: { port: 0, adminPort: 0 } });
        return true;
      } catch (err) {
        rejected++;
        return err instanceof ConfigError && err.issues.length > 0 && checkIssues(err.issues);
      }
    }),
    { numRuns: 300 },
  );
  t.true(rejected > 0, 'some random documents were rejected (the property was exercised)');
});

// Was a finding: an empty or blank key was reported with an empty path ("") at the top level
// and a dangling one ("pools[0].") inside a pool. Such keys are now quoted: `[""]`.
test('an empty or blank key is reported with a path that names it', (t) => {
  for (const text of ['"": 1\n', '" ": 1\n', 'pools:\n  - "": 1\n']) {
    for (const issue of validateConfigText(text).issues) {
      t.true(issue.path.trim() !== '' && !issue.path.endsWith('.'), `${JSON.stringify(text)} gave path ${JSON.stringify(issue.path)}`);
    }
  }
});
