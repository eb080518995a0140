/**
 * The path a backend is sent, per pool (`strip_prefix`, `add_prefix`): a pool that matches
 * `/api` may serve a backend that expects `/`, or one that lives under `/v2`. Only the path part
 * changes; the query is passed on byte for byte. Applied once per request, after routing, so
 * routing, url-hash and the access log keep the client's request-target.
 */

/** A pool's rewrite: the matched prefix to take off, then the prefix to put on (both without a trailing `/`). */
export interface PathRewrite {
  stripPrefix?: string;
  addPrefix?: string;
}

/**
 * `path` (origin form, `/a/b?q`) as the backend should see it. Stripping `/api` from `/api/users`
 * gives `/users`, from `/api` or `/api?x` gives `/` and `/?x`; a path that does not start with
 * the prefix is left as it is. Adding `/v2` to `/users?x` gives `/v2/users?x`, to `/` gives
 * `/v2/`. Never returns a path without its leading `/`.
 */
export function rewritePath(path: string, rewrite: PathRewrite): string {
  let out = path;
  const strip = rewrite.stripPrefix;
  if (strip !== undefined && strip !== '' && strip !== '/' && out.startsWith(strip)) {
    const rest = out.slice(strip.length);
    // `/apiv2` is not under `/api`: only a whole segment is stripped.
    if (rest === '' || rest.startsWith('/') || rest.startsWith('?')) out = rest.startsWith('/') ? rest : `/${rest}`;
  }
  const add = rewrite.addPrefix;
  if (add !== undefined && add !== '' && add !== '/') out = `${add}${out}`;
  return out;
}

/**
 * `path` (origin form, always starting with `/`) under a backend's base path (`/app`, no
 * trailing `/`, `''` for none), as nginx's `proxy_pass http://b/app/` and Traefik's server URL
 * path put it: `/users?x` -> `/app/users?x`, `/` -> `/app/`, `/?x` -> `/app/?x`. Exactly one
 * `/` at the join, none lost; the rest (query included) byte for byte.
 */
export function joinBasePath(basePath: string, path: string): string {
  return basePath === '' ? path : `${basePath}${path}`;
}

/**
 * The request-target a backend is sent: the pool's rewrite (strip, then add) and then the
 * backend's own base path. Returns `path` itself when there is neither.
 */
export function backendPath(path: string, rewrite: PathRewrite | undefined, basePath: string): string {
  return joinBasePath(basePath, rewrite === undefined ? path : rewritePath(path, rewrite));
}
