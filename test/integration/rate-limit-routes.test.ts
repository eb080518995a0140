/**
 * rate_limit.routes on real sockets: a route's own bucket, per client IP, and the 429's headers.
 * velo's clock stands still (no token comes back mid-test however slow the machine is).
 */
import test from 'ava';
import { client, get, startBackends, startVelo } from './harness.js';

const STILL = { clock: () => 1_000 };

const LOGIN_ONLY = `health_check: { enabled: false }
rate_limit:
  routes:
    - { name: login, path_prefix: /login, methods: [POST], rps: 2, burst: 2 }
`;

test('POST /login at 2/s: the 3rd rapid POST gets 429 with Retry-After and RateLimit fields, GET / is untouched', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, LOGIN_ONLY, [b!.url], STILL);
  const agent = client(t);
  const posts = [];
  for (let i = 0; i < 3; i++) posts.push(await get(agent, `${velo.url}/login`, { method: 'POST', body: 'user=a' }));
  t.deepEqual(posts.map((r) => r.status), [200, 200, 429]);
  const limited = posts[2]!;
  t.is(limited.headers['retry-after'], '1');
  t.is(limited.headers['ratelimit-policy'], '"login";q=2;w=1');
  t.is(limited.headers['ratelimit'], '"login";r=0;t=1');
  t.is(JSON.parse(limited.body).error, 'rate limited');
  t.is(posts[0]!.headers['ratelimit'], undefined, 'allowed responses carry only what the backend sent');
  const gets = [];
  for (let i = 0; i < 10; i++) gets.push((await get(agent, `${velo.url}/`)).status);
  t.deepEqual(gets, Array(10).fill(200), 'the rest of the pool is not limited');
  t.is((await get(agent, `${velo.url}/login`)).status, 200, 'GET /login is not a POST');
  t.is(b!.requests, 13, 'the refused POST never reached the backend');
  t.is(velo.engine.totals.rateLimited, 1);
});

test('each client IP has its own bucket (X-Forwarded-For from a trusted proxy); an untrusted one cannot forge a new bucket', async (t) => {
  const [b] = await startBackends(t, 1);
  const agent = client(t);
  const post = (url: string, ip: string) => get(agent, `${url}/login`, { method: 'POST', headers: { 'x-forwarded-for': ip } }).then((r) => r.status);

  const trusted = await startVelo(t, `${LOGIN_ONLY}trust_proxy: true\n`, [b!.url], STILL);
  const first = [await post(trusted.url, '203.0.113.1'), await post(trusted.url, '203.0.113.1'), await post(trusted.url, '203.0.113.1')];
  const second = [await post(trusted.url, '203.0.113.2'), await post(trusted.url, '203.0.113.2'), await post(trusted.url, '203.0.113.2')];
  t.deepEqual({ first, second }, { first: [200, 200, 429], second: [200, 200, 429] });

  const untrusted = await startVelo(t, LOGIN_ONLY, [b!.url], STILL);
  const forged = [await post(untrusted.url, '198.51.100.1'), await post(untrusted.url, '198.51.100.2'), await post(untrusted.url, '198.51.100.3')];
  t.deepEqual(forged, [200, 200, 429], 'without trust_proxy every request is the socket peer');
});

test('a route replaces the pool-wide limit for its requests; other paths keep the pool-wide one', async (t) => {
  const [b] = await startBackends(t, 1);
  const yaml = `health_check: { enabled: false }
rate_limit:
  rps: 1
  burst: 3
  routes:
    - { name: login, path_prefix: /login, methods: [POST], rps: 1, burst: 1 }
`;
  const velo = await startVelo(t, yaml, [b!.url], STILL);
  const agent = client(t);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(agent, `${velo.url}/`)).status);
  t.deepEqual(statuses, [200, 200, 200, 429]);
  const pool = await get(agent, `${velo.url}/`);
  t.is(pool.headers['ratelimit-policy'], '"pool";q=3;w=3');
  t.is(pool.headers['ratelimit'], '"pool";r=0;t=3');
  const login = [(await get(agent, `${velo.url}/login`, { method: 'POST' })).status, (await get(agent, `${velo.url}/login`, { method: 'POST' })).status];
  t.deepEqual(login, [200, 429], 'the login bucket is separate from the exhausted pool-wide one');
});
