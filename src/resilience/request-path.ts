/**
 * The path of a request target in the form rate-limit routes compare, so spelling a path
 * differently does not slip past a limit: query and fragment cut, percent-encoded unreserved
 * characters decoded (RFC 3986 §6.2.2.2), runs of "/" collapsed, dot segments removed (RFC 3986
 * §5.2.4), ASCII lower-cased. The forwarded request is untouched; only the comparison changes.
 * Errs toward matching: `/LOGIN`, `/%6Cogin` and `/a/../login` all count as `/login`.
 */

const UNRESERVED_ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** `target` (e.g. `/a//b/../Login?x=1`) as compared by `path_prefix` matching (`/a/login`). */
export function normalizeRequestPath(target: string): string {
  let end = target.length;
  for (const stop of ['?', '#']) {
    const at = target.indexOf(stop);
    if (at !== -1 && at < end) end = at;
  }
  const decoded = target.slice(0, end).replace(UNRESERVED_ESCAPE, (escape, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : escape;
  });
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '..') out.pop();
    if (segment === '.' || segment === '..') {
      // "/a/.." names the directory "/": keep the trailing slash.
      if (last) out.push('');
      continue;
    }
    if (segment === '' && !last) continue;
    out.push(segment);
  }
  return `/${out.join('/')}`.toLowerCase();
}

