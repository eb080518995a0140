/**
 * The dashboard's `t`: test requests reach the pool on screen (its path and host) and are
 * split by the names the table shows, whatever the backends answer.
 */
import test from 'ava';
import http from 'node:http';
import { request } from 'undici';
import type { AddressInfo } from 'node:net';
import { startVelo } from '../integration/harness.js';
import { TestRequestTally, poolTarget, reachableUrl, runTestRequests } from '../../src/cli/test-requests.js';

test('poolTarget takes the pool\'s path prefix and a host its match accepts', (t) => {
  const listen = new URL('http://127.0.0.1:8080/');
  t.deepEqual(poolTarget(listen, {}), { url: new URL('http://127.0.0.1:8080/'), host: undefined });
  t.deepEqual(poolTarget(listen, { pathPrefix: '/api' }), { url: new URL('http://127.0.0.1:8080/api'), host: undefined });
  t.deepEqual(poolTarget(listen, { host: '*.shop.test' }), { url: new URL('http://127.0.0.1:8080/'), host: 'test.shop.test' });
});

test('test requests for a pool reach only its backends, split by their names (no X-Backend needed)', async (t) => {
  const plain = await Promise.all(
    [0, 1, 2].map(async () => {
      const server = http.createServer((_req, res) => res.end('ok\n'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.teardown(() => new Promise<void>((r) => server.close(() => r())));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }),
  );
  const yaml =
    `pools:\n  - name: web\n    health_check: { enabled: false }\n    backends: [{ url: ${plain[0]}, name: web-1 }]\n` +
    `  - name: api\n    match: { host: api.test, path_prefix: /api }\n    health_check: { enabled: false }\n    backends: [{ url: ${plain[1]}, name: api-1 }, { url: ${plain[2]}, name: api-2 }]\n`;
  const velo = await startVelo(t, yaml);
  const pool = velo.engine.pools.find((p) => p.name === 'api')!;
  velo.engine.sampler.tick();
  const { url, host } = poolTarget(reachableUrl(velo.engine.snapshot.listen), pool.config.match);
  const tally = new TestRequestTally();
  velo.engine.observers.push(tally.record);
  // Other traffic at the same time (the demo's, say) is not part of the split.
  const other = Promise.all(Array.from({ length: 7 }, () => request(`${velo.url}/api`, { headers: { host: 'api.test' } }).then((r) => r.body.text())));
  const result = await runTestRequests(url, 20, { host, tally });
  await other;
  t.like(result, { sent: 20, success: 20, fails: 0 });
  t.deepEqual(Object.fromEntries(result.backends), { 'api-1': 10, 'api-2': 10 });
  t.is(velo.engine.pools[0]!.upstreams[0]!.counters.requests, 0, 'the catch-all pool got none');
});
