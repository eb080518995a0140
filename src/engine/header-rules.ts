/**
 * Per-pool header rewriting (`request_headers`, `response_headers`): remove, then set (replaces
 * every field of that name), then add (appends another field), on the flat `[name, value, ...]`
 * lists velo forwards. Values may use `{client_ip}`, `{request_id}`, `{backend}` (the backend's
 * name) and `{host}` (the request's Host). Framing and hop-by-hop fields are refused by the
 * config (RFC 9110 section 7.6.1, RFC 9112 section 6): rewriting them would break the message.
 */

/** A pool's rules for one direction; names are lower-case, templates validated (schema-headers.ts). */
export interface HeaderRules {
  remove: string[];
  set: Array<[name: string, template: string]>;
  add: Array<[name: string, template: string]>;
}

/** What a template may name. */
export interface HeaderVars {
  clientIp: string;
  requestId: string;
  /** The chosen backend's name; empty when none was chosen. */
  backend: string;
  /** The request's Host (or the absolute-form authority); empty when absent. */
  host: string;
}

/** The variables a template may use, as written. */
export const HEADER_VARIABLES = ['{client_ip}', '{request_id}', '{backend}', '{host}'] as const;

/** Header names the rules may not touch: message framing and hop-by-hop fields. */
export const PROTECTED_HEADERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length']);

/** `template` with its variables replaced; a value with CR or LF left by a variable becomes spaces. */
export function expandTemplate(template: string, vars: HeaderVars): string {
  if (!template.includes('{')) return template;
  return template
    .replaceAll('{client_ip}', vars.clientIp)
    .replaceAll('{request_id}', vars.requestId)
    .replaceAll('{backend}', vars.backend)
    .replaceAll('{host}', vars.host)
    .replace(/[\r\n]/g, ' ');
}

/** A new list: `headers` with `rules` applied in the order remove, set, add. */
export function applyHeaderRules(headers: readonly string[], rules: HeaderRules, vars: HeaderVars): string[] {
  const drop = new Set([...rules.remove, ...rules.set.map(([name]) => name)]);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (drop.has(headers[i]!.toLowerCase())) continue;
    out.push(headers[i]!, headers[i + 1]!);
  }
  for (const [name, template] of rules.set) out.push(name, expandTemplate(template, vars));
  for (const [name, template] of rules.add) out.push(name, expandTemplate(template, vars));
  return out;
}
