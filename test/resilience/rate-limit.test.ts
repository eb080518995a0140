import test from 'ava';
import type { RateLimitConfig, RateLimitRoute } from '../../src/config/types.js';
import { RateLimiter } from '../../src/resilience/rate-limit.js';

const LOGIN: RateLimitRoute = { name: 'login', pathPrefix: '/login', methods: ['POST'], rps: 2, burst: 2 };

function limiter(config: Partial<RateLimitConfig>) {
  const clock = { now: 0 };
  const rl = new RateLimiter({ enabled: false, rps: 100, burst: 200, routes: [], ...config }, () => clock.now);
  return { rl, clock };
}

/** Status a request would get: 200 when it passes, 429 when refused. */
function statuses(rl: RateLimiter, requests: Array<[string, string, string?]>): number[] {
  return requests.map(([method, target, ip]) => (rl.take(method, target, ip ?? '10.0.0.1') === undefined ? 200 : 429));
}

test('nothing is limited with the pool-wide bucket off and no routes', (t) => {
  const { rl } = limiter({ burst: 1 });
  t.deepEqual(statuses(rl, Array.from({ length: 5 }, (): [string, string] => ['GET', '/'])), [200, 200, 200, 200, 200]);
});

test('a route-only limit refuses the 3rd rapid POST /login and leaves the rest of the pool alone', (t) => {
  const { rl } = limiter({ routes: [LOGIN] });
  t.deepEqual(
    statuses(rl, [
      ['POST', '/login'],
      ['POST', '/login'],
      ['GET', '/'],
      ['GET', '/login'],
      ['POST', '/login'],
      ['POST', '/other'],
    ]),
    [200, 200, 200, 200, 429, 200],
  );
});

test('the refusal names the route and carries Retry-After and the IETF RateLimit fields', (t) => {
  const { rl, clock } = limiter({ routes: [LOGIN] });
  rl.take('POST', '/login', 'a');
  rl.take('POST', '/login', 'a');
  clock.now = 100;
  t.deepEqual(rl.take('POST', '/login', 'a'), {
    policy: 'login',
    headers: { 'retry-after': '1', 'ratelimit-policy': '"login";q=2;w=1', 'ratelimit': '"login";r=0;t=1' },
  });
});

test('buckets are per route and client IP', (t) => {
  const { rl } = limiter({ routes: [LOGIN, { name: 'api', pathPrefix: '/api', rps: 1, burst: 1 }] });
  t.deepEqual(
    statuses(rl, [
      ['POST', '/login', 'a'],
      ['POST', '/login', 'a'],
      ['POST', '/login', 'a'],
      ['POST', '/login', 'b'],
      ['GET', '/api/x', 'a'],
      ['GET', '/api/y', 'a'],
      ['GET', '/api/y', 'b'],
    ]),
    [200, 200, 429, 200, 200, 429, 200],
  );
});

test('the first matching route wins, and a route replaces the pool-wide bucket', (t) => {
  const { rl } = limiter({
    enabled: true,
    rps: 1,
    burst: 1,
    routes: [
      { name: 'tight', pathPrefix: '/api/login', rps: 1, burst: 1 },
      { name: 'loose', pathPrefix: '/api', rps: 1, burst: 3 },
    ],
  });
  t.deepEqual(
    statuses(rl, [
      ['GET', '/api/login'],
      ['GET', '/api/login'],
      ['GET', '/api/a'],
      ['GET', '/api/b'],
      ['GET', '/api/c'],
      ['GET', '/api/d'],
      ['GET', '/'],
      ['GET', '/'],
    ]),
    [200, 429, 200, 200, 200, 429, 200, 429],
  );
  t.is(rl.take('GET', '/x', '10.0.0.1')?.headers['ratelimit-policy'], '"pool";q=1;w=1', 'other paths: the pool-wide policy');
});

test('methods match case-insensitively; a route without methods matches every method', (t) => {
  const { rl } = limiter({ routes: [{ ...LOGIN, burst: 1 }, { name: 'all', pathPrefix: '/all', rps: 1, burst: 1 }] });
  t.deepEqual(statuses(rl, [['post', '/login'], ['POST', '/login']]), [200, 429]);
  t.deepEqual(statuses(rl, [['DELETE', '/all'], ['PATCH', '/all']]), [200, 429]);
});

test('spelling the path differently does not escape a route', (t) => {
  const { rl } = limiter({ routes: [{ ...LOGIN, burst: 1 }] });
  t.deepEqual(
    statuses(rl, [['POST', '/login'], ['POST', '/LOGIN'], ['POST', '/%6Cogin'], ['POST', '//login'], ['POST', '/x/../login?a=1']]),
    [200, 429, 429, 429, 429],
  );
});

test('tokens come back at rps', (t) => {
  const { rl, clock } = limiter({ routes: [LOGIN] });
  t.deepEqual(statuses(rl, [['POST', '/login'], ['POST', '/login'], ['POST', '/login']]), [200, 200, 429]);
  clock.now = 499;
  t.deepEqual(statuses(rl, [['POST', '/login']]), [429]);
  clock.now = 1_000;
  t.deepEqual(statuses(rl, [['POST', '/login'], ['POST', '/login'], ['POST', '/login']]), [200, 200, 429]);
});

test('a reload keeps the buckets of routes that keep their name and drops the others', (t) => {
  const { rl } = limiter({ routes: [LOGIN, { name: 'old', pathPrefix: '/old', rps: 1, burst: 1 }] });
  statuses(rl, [['POST', '/login'], ['POST', '/login'], ['GET', '/old']]);
  rl.config = { enabled: false, rps: 100, burst: 200, routes: [{ ...LOGIN, rps: 1 }, { name: 'new', pathPrefix: '/old', rps: 1, burst: 1 }] };
  t.deepEqual(statuses(rl, [['POST', '/login'], ['GET', '/old']]), [429, 200]);
  t.is(rl.take('POST', '/login', '10.0.0.1')?.headers['ratelimit-policy'], '"login";q=2;w=2', 'the new rate applies');
});

test('the advertised window is the whole seconds a bucket takes to refill', (t) => {
  const cases: Array<[number, number, string]> = [
    [2, 2, '"r";q=2;w=1'],
    [100, 200, '"r";q=200;w=2'],
    [0.5, 1, '"r";q=1;w=2'],
    [3, 5, '"r";q=5;w=2'],
    [10, 1, '"r";q=1;w=1'],
  ];
  for (const [rps, burst, policy] of cases) {
    const { rl } = limiter({ routes: [{ name: 'r', pathPrefix: '/', rps, burst }] });
    for (let i = 0; i < burst; i++) rl.take('GET', '/', 'a');
    t.is(rl.take('GET', '/', 'a')?.headers['ratelimit-policy'], policy, `rps ${rps} burst ${burst}`);
  }
});
