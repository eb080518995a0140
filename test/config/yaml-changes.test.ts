/**
 * Writing runtime changes into a config file's text: only the changed bytes differ; comments
 * (own line, trailing, aligned), blank lines, key order and quoting stay; the result validates
 * and says what the changes said.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { CONFIG_TEMPLATE } from '../../src/config/template.js';
import { writeChangesIntoYaml, type ConfigChange } from '../../src/config/yaml-changes.js';
import { fileValue } from '../../src/engine/overlay.js';

const POOLS = `# top comment
listen: { port: 8080 }   # listen here

pools:
  # the web pool
  - name: web
    strategy: round-robin    # aligned comment
    backends:
      - http://127.0.0.1:8081   # first
      - { url: http://127.0.0.1:8082, weight: 2 }  # second
      - url: http://127.0.0.1:8083
        weight: 3
        # block map comment
    health_check: { enabled: false }
  - name: api
    match: { path_prefix: /api }
    backends: [ http://127.0.0.1:9001, http://127.0.0.1:9002 ]   # flow list
# trailing comment
`;

/** Every line of `before` not in `changed` must be in `after`, in the same order. */
function unchangedLinesKept(t: import('ava').ExecutionContext, before: string, after: string, changed: RegExp): void {
  const kept = before.split('\n').filter((l) => !changed.test(l));
  const afterLines = after.split('\n');
  let i = 0;
  for (const line of kept) {
    const at = afterLines.indexOf(line, i);
    t.true(at >= 0, `line kept in order: ${JSON.stringify(line)}`);
    i = at + 1;
  }
}

test('the template: weight, strategy, drain, maintenance, add and remove change only their own bytes', (t) => {
  const changes: ConfigChange[] = [
    { pool: 'default', field: 'strategy', value: 'least-connections' },
    { pool: 'default', backend: 'http://127.0.0.1:8083', field: 'weight', value: 5 },
    { pool: 'default', backend: 'http://127.0.0.1:8082', field: 'maintenance', value: true },
    { pool: 'default', backend: 'http://127.0.0.1:8081', field: 'listed', value: false },
    { pool: 'default', backend: 'http://127.0.0.1:8084', field: 'listed', value: true, added: { url: 'http://127.0.0.1:8084', weight: 2, drain: true } },
  ];
  const after = writeChangesIntoYaml(CONFIG_TEMPLATE, changes);
  const expected = CONFIG_TEMPLATE.replace('strategy: round-robin\n', 'strategy: least-connections\n')
    .replace('  - http://127.0.0.1:8081\n', '')
    .replace('  - http://127.0.0.1:8082\n', '  - { url: http://127.0.0.1:8082, maintenance: true }\n')
    .replace('  - { url: http://127.0.0.1:8083, weight: 1 }    # weight 1..1000\n', '  - { url: http://127.0.0.1:8083, weight: 5 }    # weight 1..1000\n  - { url: http://127.0.0.1:8084, weight: 2, drain: true }\n');
  t.is(after, expected);
  const config = parseConfigText(after, 'velo.config.yaml');
  for (const c of changes) t.is(fileValue(config, c.pool, c.backend, c.field), c.value, JSON.stringify(c));
});

test('pools form: scalar, flow and block entries, a flow list, comments everywhere kept', (t) => {
  const changes: ConfigChange[] = [
    { pool: 'web', backend: 'http://127.0.0.1:8081', field: 'weight', value: 4 },
    { pool: 'web', backend: 'http://127.0.0.1:8082', field: 'drain', value: true },
    { pool: 'web', backend: 'http://127.0.0.1:8083', field: 'weight', value: 7 },
    { pool: 'web', backend: 'http://127.0.0.1:8083', field: 'maintenance', value: true },
    { pool: 'web', field: 'strategy', value: 'random' },
    { pool: 'api', backend: 'http://127.0.0.1:9001', field: 'listed', value: false },
    { pool: 'api', backend: 'http://127.0.0.1:9003', field: 'listed', value: true, added: { url: 'http://127.0.0.1:9003', weight: 1 } },
    { pool: 'api', field: 'strategy', value: 'ip-hash' },
  ];
  const after = writeChangesIntoYaml(POOLS, changes);
  t.is(
    after,
    `# top comment
listen: { port: 8080 }   # listen here

pools:
  # the web pool
  - name: web
    strategy: random    # aligned comment
    backends:
      - { url: http://127.0.0.1:8081, weight: 4 }   # first
      - { url: http://127.0.0.1:8082, weight: 2, drain: true }  # second
      - url: http://127.0.0.1:8083
        weight: 7
        maintenance: true
        # block map comment
    health_check: { enabled: false }
  - name: api
    match: { path_prefix: /api }
    backends: [ http://127.0.0.1:9002, http://127.0.0.1:9003 ]   # flow list
    strategy: ip-hash
# trailing comment
`,
  );
  unchangedLinesKept(t, POOLS, after, /strategy|8081|8082|weight: 3|9001/);
  const config = parseConfigText(after, 'velo.config.yaml');
  for (const c of changes) t.is(fileValue(config, c.pool, c.backend, c.field), c.value, JSON.stringify(c));
});

test('turning drain or maintenance off deletes the key; an empty pool gets a backends list', (t) => {
  const text = 'backends:\n  - { url: http://127.0.0.1:1, drain: true, weight: 2 }\n  - url: http://127.0.0.1:2\n    maintenance: true\n';
  const after = writeChangesIntoYaml(text, [
    { pool: 'default', backend: 'http://127.0.0.1:1', field: 'drain', value: false },
    { pool: 'default', backend: 'http://127.0.0.1:2', field: 'maintenance', value: false },
  ]);
  t.is(after, 'backends:\n  - { url: http://127.0.0.1:1, weight: 2 }\n  - url: http://127.0.0.1:2\n');
  const empty = writeChangesIntoYaml('# nothing yet\nstrategy: random\n', [
    { pool: 'default', backend: 'http://127.0.0.1:1', field: 'listed', value: true, added: { url: 'http://127.0.0.1:1', weight: 1 } },
  ]);
  t.is(empty, '# nothing yet\nstrategy: random\nbackends: [http://127.0.0.1:1]\n');
});

test('a pool that is not in the file is E_CONFLICT', (t) => {
  const err = t.throws(() => writeChangesIntoYaml('backends: [http://127.0.0.1:1]\n', [{ pool: 'nope', field: 'strategy', value: 'random' }]));
  t.is((err as { code?: string }).code, 'E_CONFLICT');
});
