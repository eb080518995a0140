/**
 * Validation of a pool's `rate_limit` section: the pool-wide token bucket (`rps`, `burst`) and
 * the `routes` that give a path prefix and methods their own bucket.
 */
import { METHODS } from 'node:http';
import { isMap, type Node } from 'yaml';
import type { RateLimitConfig, RateLimitRoute } from './types.js';
import { POOL_DEFAULTS } from './defaults.js';
import { POOL_POLICY_NAME } from '../resilience/rate-limit.js';
import { MapReader, readList, readString, type IssueCollector } from './schema-node.js';

const ROUTE_KEYS = ['name', 'path_prefix', 'methods', 'rps', 'burst'] as const;
const ROUTE_EXAMPLE = '{ name: login, path_prefix: /login, methods: [POST], rps: 2, burst: 2 }';
// A policy name is an sf-token's safe subset, so it reads the same quoted or not in the header.
const POLICY_NAME = /^[A-Za-z][A-Za-z0-9._-]*$/;

/**
 * Reads `rate_limit` under `r` (`true`/`false` or a mapping). `enabled` governs the pool-wide
 * bucket only: it is on for `true`, `enabled: true`, or a mapping that sets `rps` or `burst` or
 * has no `routes`; a mapping with only `routes` limits those routes and leaves the rest of the
 * pool unlimited. Listed routes always apply, so `enabled: false` (as `velo init` writes it)
 * plus routes is route-only limiting too. Issues go to `r.c`.
 */
export function readRateLimit(r: MapReader): RateLimitConfig {
  const d = POOL_DEFAULTS.rateLimit;
  const { enabled, section } = r.toggle('rate_limit', d.enabled, ['rps', 'burst', 'routes']);
  const routesOnly = section.has('routes') && !section.written('enabled') && !section.has('rps') && !section.has('burst');
  const routesNode = section.get('routes');
  const routes = routesNode !== undefined ? readRoutes(section.c, routesNode, section.at('routes')) : [];
  return {
    enabled: enabled && !routesOnly,
    rps: section.number('rps', d.rps, { min: 0, exclusiveMin: true }),
    burst: section.int('burst', d.burst, { min: 1 }),
    routes,
  };
}

function readRoutes(c: IssueCollector, node: Node, path: string): RateLimitRoute[] {
  const routes: RateLimitRoute[] = [];
  const items = readList(c, node, path, `routes such as ${ROUTE_EXAMPLE}`) ?? [];
  items.forEach((item, i) => {
    if (item.node === undefined || !isMap(item.node)) {
      c.report(item.path, item.node ?? node, 'a route must be a mapping', `expected ${ROUTE_EXAMPLE}`);
      return;
    }
    const m = new MapReader(c, item.node, item.path, ROUTE_KEYS);
    const route = readRoute(m, i);
    if (route === undefined) return;
    if (route.name === POOL_POLICY_NAME || routes.some((x) => x.name === route.name)) {
      const why = route.name === POOL_POLICY_NAME ? `"${POOL_POLICY_NAME}" names the pool-wide limit` : `duplicate route name "${route.name}"`;
      c.report(m.at('name'), m.get('name') ?? item.node, why, 'give every route of a pool its own name');
      return;
    }
    routes.push(route);
  });
  return routes;
}

function readRoute(m: MapReader, index: number): RateLimitRoute | undefined {
  const name = m.optionalString('name', 'expected a name of letters, digits, ".", "_" or "-"') ?? `route-${index + 1}`;
  const nameOk = POLICY_NAME.test(name);
  if (!nameOk) m.c.report(m.at('name'), m.get('name'), `"${name}" is not a valid route name`, 'expected letters, digits, ".", "_" or "-", starting with a letter');
  const prefixNode = m.get('path_prefix');
  if (prefixNode === undefined) m.c.report(m.at('path_prefix'), m.node, 'route has no path_prefix', `expected ${ROUTE_EXAMPLE}`);
  const prefix = prefixNode !== undefined ? readString(m.c, prefixNode, m.at('path_prefix'), 'expected a path starting with /') : undefined;
  const prefixOk = prefix !== undefined && prefix.startsWith('/');
  if (prefix !== undefined && !prefixOk) m.c.report(m.at('path_prefix'), prefixNode, `"${prefix}" does not start with /`, `expected a path such as /${prefix}`);
  if (!m.has('rps')) m.c.report(m.at('rps'), m.node, 'route has no rps', `expected ${ROUTE_EXAMPLE}`);
  const rps = m.number('rps', 0, { min: 0, exclusiveMin: true });
  // One second's worth of requests unless told otherwise.
  const burst = m.int('burst', Math.max(1, Math.ceil(rps)), { min: 1 });
  const methods = readMethods(m);
  if (!nameOk || !prefixOk || rps <= 0 || methods === null) return undefined;
  return { name, pathPrefix: prefix, ...(methods !== undefined ? { methods } : {}), rps, burst };
}

/** Upper-case methods; undefined when `methods` is absent (every method), null after an issue. */
function readMethods(m: MapReader): string[] | undefined | null {
  const node = m.get('methods');
  if (node === undefined) return undefined;
  const hint = 'expected HTTP methods such as [POST] or [GET, HEAD]; omit methods to match every method';
  const items = readList(m.c, node, m.at('methods'), 'HTTP methods such as POST', true);
  if (items === undefined) return null;
  if (items.length === 0) {
    m.c.report(m.at('methods'), node, 'methods is empty, so the route would match nothing', hint);
    return null;
  }
  const methods: string[] = [];
  let ok = true;
  for (const item of items) {
    if (item.node === undefined) m.c.report(item.path, node, 'empty method', hint);
    const raw = item.node !== undefined ? readString(m.c, item.node, item.path, hint) : undefined;
    const method = raw?.toUpperCase();
    if (method !== undefined && METHODS.includes(method)) {
      if (!methods.includes(method)) methods.push(method);
    } else {
      if (raw !== undefined) m.c.report(item.path, item.node, `"${raw}" is not an HTTP method`, hint);
      ok = false;
    }
  }
  return ok ? methods : null;
}
