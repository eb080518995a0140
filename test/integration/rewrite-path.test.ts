/**
 * A pool matching `/api` with `strip_prefix` and `add_prefix` on real sockets: the backend sees
 * the rewritten path and the query byte for byte; the access record keeps the client's path.
 */
import test from 'ava';
import http from 'node:http';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { client, get, startVelo } from './harness.js';

test('strip_prefix takes the matched prefix off, add_prefix puts a base on; the log keeps the client path', async (t) => {
  const seen: string[] = [];
  const backend = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => backend.close(() => r())));
  const url = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
  const yaml = `pools:
  - name: web
    health_check: false
    backends: [${url}]
  - name: api
    match: { path_prefix: /api }
    strip_prefix: true
    add_prefix: /internal/v2/
    health_check: false
    backends: [${url}]
`;
  const velo = await startVelo(t, yaml);
  const paths: string[] = [];
  velo.engine.observers.push((r) => paths.push(r.path));
  const agent = client(t);
  for (const p of ['/api/users?id=7&x=%20', '/api', '/home']) t.is((await get(agent, `${velo.url}${p}`)).status, 200);
  t.deepEqual(seen, ['/internal/v2/users?id=7&x=%20', '/internal/v2/', '/home']);
  t.deepEqual(paths, ['/api/users?id=7&x=%20', '/api', '/home']);
});

test('strip_prefix without match.path_prefix and a bad add_prefix are config errors with their place', (t) => {
  const err = t.throws(() => parseConfigText('backends: [http://127.0.0.1:1]\nstrip_prefix: true\nadd_prefix: "v2?x"\n', 'velo.yaml'), { instanceOf: ConfigError });
  const issues = (err as ConfigError).issues.map((i) => `${i.path}@${i.line}: ${i.message}`);
  t.deepEqual(issues, ['strip_prefix@2: strip_prefix needs match.path_prefix', 'add_prefix@3: "v2?x" is not a path prefix']);
});
