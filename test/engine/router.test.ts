import test, { type ExecutionContext } from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { hostWithoutPort, Router } from '../../src/engine/router.js';
import { Pool } from '../../src/upstream/pool.js';

/** Pools built from a full-form config; their connection pools are destroyed after the test. */
function poolsFrom(t: ExecutionContext, yaml: string): Pool[] {
  const pools = parseConfigText(yaml, undefined).pools.map((pc) => new Pool(pc, { clock: () => 0 }));
  t.teardown(() => Promise.all(pools.flatMap((p) => p.upstreams.map((u) => u.destroy()))));
  return pools;
}

const SITE = `
pools:
  - name: default
    backends: [http://127.0.0.1:1]
  - name: api
    match: { path_prefix: /api }
    backends: [http://127.0.0.1:2]
  - name: api-v2
    match: { path_prefix: /api/v2 }
    backends: [http://127.0.0.1:3]
  - name: shop
    match: { host: shop.example.com }
    backends: [http://127.0.0.1:4]
  - name: shop-admin
    match: { host: shop.example.com, path_prefix: /admin }
    backends: [http://127.0.0.1:5]
  - name: tenants
    match: { host: "*.tenants.example.com" }
    backends: [http://127.0.0.1:6]
`;

// [Host header, path, pool]
const ROUTES: Array<[string | undefined, string, string]> = [
  ['example.com', '/', 'default'],
  ['example.com', '/api', 'api'],
  ['example.com', '/api/users?limit=5', 'api'],
  ['example.com', '/api/v2/users', 'api-v2'],
  ['example.com', '/ap', 'default'],
  [undefined, '/', 'default'],
  [undefined, '/api/v2', 'api-v2'],
  ['shop.example.com', '/', 'shop'],
  ['shop.example.com:8443', '/cart', 'shop'],
  ['SHOP.Example.COM', '/', 'shop'],
  // A host match beats any path-only match, however long.
  ['shop.example.com', '/api/v2/users', 'shop'],
  ['shop.example.com', '/admin/users', 'shop-admin'],
  ['shop.example.com:80', '/admin', 'shop-admin'],
  ['other.example.com', '/admin', 'default'],
  ['a.tenants.example.com', '/', 'tenants'],
  ['a.b.tenants.example.com:8080', '/x', 'tenants'],
  // A wildcard needs a subdomain.
  ['tenants.example.com', '/', 'default'],
  ['xtenants.example.com', '/', 'default'],
];

for (const [host, path, expected] of ROUTES) {
  test(`Host ${host ?? '(none)'} ${path} -> ${expected}`, (t) => {
    const router = new Router(poolsFrom(t, SITE));
    t.is(router.match(host, path)?.name, expected);
  });
}

const HOSTS_ONLY = `
pools:
  - name: a
    match: { host: a.example.com }
    backends: [http://127.0.0.1:1]
  - name: b
    match: { host: b.example.com, path_prefix: /b }
    backends: [http://127.0.0.1:2]
`;

test('no catch-all pool: a request no pool matches gets undefined', (t) => {
  const router = new Router(poolsFrom(t, HOSTS_ONLY));
  t.is(router.match('c.example.com', '/'), undefined);
  t.is(router.match(undefined, '/'), undefined);
  t.is(router.match('b.example.com', '/a'), undefined);
  t.is(router.match('b.example.com', '/b/1')?.name, 'b');
});

test('a router with no pools matches nothing', (t) => {
  t.is(new Router([]).match('example.com', '/'), undefined);
});

test('an exact host beats a wildcard whatever the order, as in nginx', (t) => {
  const pools = poolsFrom(
    t,
    `
pools:
  - name: wild
    match: { host: "*.example.com" }
    backends: [http://127.0.0.1:1]
  - name: exact
    match: { host: a.example.com }
    backends: [http://127.0.0.1:2]
`,
  );
  t.is(new Router(pools).match('a.example.com', '/')?.name, 'exact');
  t.is(new Router([...pools].reverse()).match('a.example.com', '/')?.name, 'exact');
  t.is(new Router(pools).match('b.example.com', '/')?.name, 'wild');
});

test('setPools replaces the routing table', (t) => {
  const site = poolsFrom(t, SITE);
  const router = new Router(site);
  t.is(router.match('example.com', '/')?.name, 'default');
  router.setPools(poolsFrom(t, HOSTS_ONLY));
  t.is(router.match('example.com', '/'), undefined);
  t.is(router.match('a.example.com', '/')?.name, 'a');
});

test('an IPv6 Host header ([::1]:8080) reaches the pool matched on host [::1]', (t) => {
  const pools = poolsFrom(
    t,
    `
pools:
  - name: default
    backends: [http://127.0.0.1:1]
  - name: v6
    match: { host: "[::1]" }
    backends: [http://127.0.0.1:2]
`,
  );
  t.is(pools[1]!.config.match.host, '::1');
  const router = new Router(pools);
  t.is(router.match('[::1]:8080', '/')?.name, 'v6');
  t.is(router.match('[::1]', '/')?.name, 'v6');
});

const HOST_WITHOUT_PORT: Array<[string | undefined, string]> = [
  [undefined, ''],
  ['', ''],
  ['example.com', 'example.com'],
  ['Example.COM', 'example.com'],
  ['example.com:8080', 'example.com'],
  ['127.0.0.1:80', '127.0.0.1'],
  ['[::1]:8080', '::1'],
  ['[::1]', '::1'],
  ['[2001:DB8::1]:443', '2001:db8::1'],
  ['[::1', '::1'],
];

for (const [input, expected] of HOST_WITHOUT_PORT) {
  test(`hostWithoutPort(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, (t) => {
    t.is(hostWithoutPort(input), expected);
  });
}
