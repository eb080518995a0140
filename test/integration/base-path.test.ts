/**
 * Backend URLs with a base path on real sockets: each backend of one pool is sent its own base
 * path joined to the (rewritten) request path, the query byte for byte; health checks are
 * joined the same way; the snapshot and the admin API show the base path in `url`.
 */
import test from 'ava';
import http from 'node:http';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { client, eventually, get, startVelo } from './harness.js';

async function recordingBackend(t: import('ava').ExecutionContext): Promise<{ url: string; seen: string[]; probes: string[] }> {
  const seen: string[] = [];
  const probes: string[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (req.headers['user-agent'] === 'velo-health-check') {
      probes.push(path);
      // Only the base-path-joined health path answers 200: a probe of plain /health fails.
      res.statusCode = path === '/app/health' || path === '/other/v1/health' ? 200 : 500;
      return res.end();
    }
    seen.push(path);
    res.end(path);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, probes };
}

test('each backend is sent its base path + the rewritten path, query byte for byte; health checks go under the base path', async (t) => {
  const backend = await recordingBackend(t);
  const yaml = `match: { path_prefix: /api }
strip_prefix: true
strategy: round-robin
health_check: { path: /health, interval: 50ms, timeout: 500ms, rise: 1, fall: 1 }
backends: [${backend.url}/app/, ${backend.url}/other/v1]
`;
  const velo = await startVelo(t, yaml);
  const pool = velo.engine.pools[0]!;
  await eventually(() => pool.upstreams.every((u) => u.healthState === 'healthy'), 5000, 'both backends healthy');
  t.true(backend.probes.includes('/app/health'));
  t.true(backend.probes.includes('/other/v1/health'));
  t.false(backend.probes.includes('/health'));
  const agent = client(t);
  const replies = [];
  for (const p of ['/api/users?id=7&x=%20&y=a%2Fb', '/api', '/api?q']) replies.push(await get(agent, `${velo.url}${p}`));
  t.deepEqual(replies.map((r) => r.status), [200, 200, 200]);
  t.deepEqual(backend.seen, ['/app/users?id=7&x=%20&y=a%2Fb', '/other/v1/', '/app/?q']);

  velo.engine.sampler.tick();
  t.deepEqual(velo.engine.snapshot.pools[0]!.backends.map((b) => [b.id, b.url, b.name]), [
    [`${backend.url}/app`, `${backend.url}/app`, `${backend.url.slice('http://'.length)}/app`],
    [`${backend.url}/other/v1`, `${backend.url}/other/v1`, `${backend.url.slice('http://'.length)}/other/v1`],
  ]);
});

test('a backend added at runtime with a base path is forwarded under it; the same origin without it is another backend', async (t) => {
  const backend = await recordingBackend(t);
  const velo = await startVelo(t, `health_check: false\nbackends: [${backend.url}/app]\n`);
  const added = velo.control.addBackend(velo.engine.pools[0]!.name, { url: `${backend.url}/other/v1/` });
  t.is(added.id, `${backend.url}/other/v1`);
  velo.control.addBackend(velo.engine.pools[0]!.name, { url: backend.url });
  const agent = client(t);
  for (let i = 0; i < 3; i += 1) t.is((await get(agent, `${velo.url}/x?a=1`)).status, 200);
  t.deepEqual([...backend.seen].sort(), ['/app/x?a=1', '/other/v1/x?a=1', '/x?a=1']);
});

test('a backend URL with a query or an empty path segment is a config error with its line and column', (t) => {
  const yaml = 'backends:\n  - http://127.0.0.1:1/app?x=1\n  - { url: "http://127.0.0.1:2//v2" }\n';
  const err = t.throws(() => parseConfigText(yaml, 'velo.yaml'), { instanceOf: ConfigError });
  const issues = (err as ConfigError).issues.map((i) => `${i.path}@${i.line}:${i.column}: ${i.message}`);
  t.deepEqual(issues, [
    'backends[0]@2:5: "http://127.0.0.1:1/app?x=1" has a query or fragment',
    'backends[1].url@3:12: "http://127.0.0.1:2//v2" has an empty path segment (//)',
  ]);
});
