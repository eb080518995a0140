import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigText } from '../../src/config/schema.js';
import type { RateLimitConfig } from '../../src/config/types.js';

function rateLimitOf(yaml: string): RateLimitConfig {
  return parseConfigText(`${yaml}\nbackends: [http://127.0.0.1:8081]\n`).pools[0]!.rateLimit;
}

const LOGIN = { name: 'login', pathPrefix: '/login', methods: ['POST'], rps: 2, burst: 2 };

test('routes alone limit only those routes: the pool-wide bucket stays off', (t) => {
  t.deepEqual(rateLimitOf('rate_limit:\n  routes:\n    - { name: login, path_prefix: /login, methods: [POST], rps: 2, burst: 2 }'), {
    enabled: false,
    rps: 100,
    burst: 200,
    routes: [LOGIN],
  });
});

test('routes beside rps, burst or enabled: true keep the pool-wide bucket on; enabled: false keeps the routes', (t) => {
  const route = '  routes: [{ name: login, path_prefix: /login, methods: [POST], rps: 2, burst: 2 }]';
  t.deepEqual(rateLimitOf(`rate_limit:\n  rps: 50\n${route}`), { enabled: true, rps: 50, burst: 200, routes: [LOGIN] });
  t.deepEqual(rateLimitOf(`rate_limit:\n  enabled: true\n${route}`), { enabled: true, rps: 100, burst: 200, routes: [LOGIN] });
  t.deepEqual(rateLimitOf(`rate_limit:\n  enabled: false\n${route}`), { enabled: false, rps: 100, burst: 200, routes: [LOGIN] }, 'enabled governs the pool-wide bucket only');
  t.deepEqual(rateLimitOf('rate_limit: true'), { enabled: true, rps: 100, burst: 200, routes: [] });
});

test('a route defaults to every method, a name from its position and one second of burst', (t) => {
  const rl = rateLimitOf('rate_limit:\n  routes:\n    - { path_prefix: /api, rps: 2.5 }\n    - { path_prefix: /x, methods: post, rps: 1 }');
  t.deepEqual(rl.routes, [
    { name: 'route-1', pathPrefix: '/api', rps: 2.5, burst: 3 },
    { name: 'route-2', pathPrefix: '/x', methods: ['POST'], rps: 1, burst: 1 },
  ]);
});

test('methods are upper-cased and deduplicated', (t) => {
  const rl = rateLimitOf('rate_limit:\n  routes: [{ path_prefix: /a, methods: [get, GET, Head], rps: 1 }]');
  t.deepEqual(rl.routes[0]!.methods, ['GET', 'HEAD']);
});

/** [yaml, path, line, column, hint pattern] — each text has exactly one mistake. */
const BAD_ROUTES: Array<[string, string, number, number, RegExp]> = [
  ['rate_limit:\n  routes: /login', 'rate_limit.routes', 2, 11, /list of routes such as \{ name: login/],
  ['rate_limit:\n  routes:\n    - /login', 'rate_limit.routes[0]', 3, 7, /path_prefix: \/login/],
  ['rate_limit:\n  routes:\n    - { rps: 2 }', 'rate_limit.routes[0].path_prefix', 3, 7, /path_prefix: \/login/],
  ['rate_limit:\n  routes:\n    - { path_prefix: login, rps: 2 }', 'rate_limit.routes[0].path_prefix', 3, 22, /\/login/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login }', 'rate_limit.routes[0].rps', 3, 7, /rps: 2/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login, rps: 0 }', 'rate_limit.routes[0].rps', 3, 35, /> 0/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login, rps: 2, burst: 0.5 }', 'rate_limit.routes[0].burst', 3, 45, /whole number >= 1/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login, rps: 2, methods: [POST, FETCH] }', 'rate_limit.routes[0].methods[1]', 3, 54, /\[POST\]/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login, rps: 2, methods: [] }', 'rate_limit.routes[0].methods', 3, 47, /omit methods/],
  ['rate_limit:\n  routes:\n    - { path_prefix: /login, rps: 2, method: POST }', 'rate_limit.routes[0].method', 3, 38, /did you mean "methods"/],
  ['rate_limit:\n  routes:\n    - { name: "log in", path_prefix: /login, rps: 2 }', 'rate_limit.routes[0].name', 3, 15, /letters, digits/],
  ['rate_limit:\n  routes:\n    - { name: pool, path_prefix: /login, rps: 2 }', 'rate_limit.routes[0].name', 3, 15, /its own name/],
  ['rate_limit:\n  routes:\n    - { name: a, path_prefix: /a, rps: 2 }\n    - { name: a, path_prefix: /b, rps: 2 }', 'rate_limit.routes[1].name', 4, 15, /its own name/],
  ['rate_limit:\n  rutes: []', 'rate_limit.rutes', 2, 3, /did you mean "routes"/],
];

for (const [text, path, line, column, hint] of BAD_ROUTES) {
  test(`reports ${path} at ${line}:${column} for ${JSON.stringify(text)}`, (t) => {
    const issues = validateConfigText(text, 'velo.config.yaml').issues;
    t.is(issues.length, 1, JSON.stringify(issues));
    t.like(issues[0], { path, line, column });
    t.regex(issues[0]!.hint ?? '', hint);
  });
}
