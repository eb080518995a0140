/**
 * What a backend URL may be and its one canonical spelling, which is a backend's identity
 * everywhere: in pools, the admin API, metrics labels and duplicate detection. A URL may carry a
 * base path (`http://10.0.0.5:8080/app`): every path velo sends that backend is put under it
 * (src/engine/rewrite-path.ts `joinBasePath`, docs/rewriting.md).
 */
import { VeloError } from '../errors.js';

/** Why `input` cannot be a backend URL (with a hint), or undefined when it can. */
export function backendUrlProblem(input: string): { message: string; hint: string } | undefined {
  const s = input.trim();
  const hint = 'expected http://host:port or https://host:port, e.g. http://127.0.0.1:8081';
  if (s === '') return { message: 'backend URL is empty', hint };
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    // `localhost:8081` is a host and port; `htp:/x` and `htp//x` are mistyped schemes.
    const bare = /^[^:/]+:\d+/.test(s) ? s : s.includes('//') ? s.slice(s.indexOf('//') + 2) : s.replace(/^[a-z][a-z0-9+.-]*:\/*/i, '');
    return { message: `"${s}" does not start with http:// or https://`, hint: `e.g. http://${bare}` };
  }
  const port = /^[a-z]+:\/\/[^/:]+:(\d+)/i.exec(s)?.[1];
  if (port !== undefined && Number(port) > 65535) return { message: `"${s}" has port ${port}, above 65535`, hint };
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { message: `"${s}" is not a valid URL`, hint };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { message: `"${s}" uses ${url.protocol.slice(0, -1)}://, not http:// or https://`, hint };
  }
  if (url.hostname === '') return { message: `"${s}" has no host`, hint };
  if (url.username !== '' || url.password !== '') {
    return { message: `"${s}" contains credentials`, hint: 'remove user:password@; velo forwards the client\'s own headers' };
  }
  if (url.search !== '' || url.hash !== '' || s.endsWith('?') || s.endsWith('#')) {
    return { message: `"${s}" has a query or fragment`, hint: 'a backend URL is scheme, host, port and an optional base path such as /app' };
  }
  if (basePathOf(url).includes('//')) {
    return { message: `"${s}" has an empty path segment (//)`, hint: 'write the base path once, e.g. http://127.0.0.1:8081/app' };
  }
  return undefined;
}

/**
 * The canonical form of a backend URL: lower-case scheme and host, no default port, no
 * trailing slash (`http://A:80/` -> `http://a`, `http://a/app/` -> `http://a/app`), the base
 * path percent-encoded as WHATWG URL does and its dot segments resolved. Throws an `E_BAD_REQUEST` VeloError for
 * anything `backendUrlProblem` rejects.
 */
export function normalizeBackendUrl(input: string): string {
  const problem = backendUrlProblem(input);
  if (problem !== undefined) throw new VeloError('E_BAD_REQUEST', `${problem.message} (${problem.hint})`);
  const url = new URL(input.trim());
  // WHATWG URL already lower-cases scheme and host and drops the scheme's default port.
  return `${url.protocol}//${url.host}${basePathOf(url)}`;
}

/**
 * A backend URL's base path: its path without trailing `/` (`http://b/app/` -> `/app`), `''`
 * for none. Every path velo sends that backend, health checks included, goes under it.
 */
export function basePathOf(url: URL): string {
  return url.pathname.replace(/\/+$/, '');
}
