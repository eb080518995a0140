/**
 * Where velo listens and where its admin API is, and where each of those settings came from:
 * the same lookup as `velo start` (flag < environment < file < defaults, file found by `-c`,
 * `$VELO_CONFIG`, `./velo.config.yaml`), without the rules a running balancer needs (backends).
 * The CLI helpers use it to find their velo; `velo start` to say which key set a busy port.
 */
import { isAbsolute, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { ADDRESS_ENV, findConfigFile, readConfigFile, fromEnv, nonEmpty, type FlagOverrides, type LoadOptions } from './load.js';
import { normalizeListenHost, validateConfigText } from './schema.js';

/** One setting's value and where it came from: `--port`, `$VELO_PORT`, the file, or the default. */
export interface Setting<T> {
  value: T;
  /** `flag`, `env` or `file`: the name is the flag, the variable or the key; `default`: none. */
  from: 'flag' | 'env' | 'file' | 'default';
  /** `--port`, `$VELO_PORT`, `listen.port`; the key for a default. */
  name: string;
}

/** The listen and admin addresses as configured, and the file they were read from. */
export interface Addresses {
  /** The config file as the user would read it (relative to the working directory when inside it). */
  file?: string;
  listen: { host: Setting<string>; port: Setting<number>; tls: boolean };
  admin: { enabled: boolean; host: Setting<string>; port: Setting<number>; token?: string };
}

type Key = keyof typeof ADDRESS_ENV;

const FLAG_OF: Partial<Record<Key, keyof FlagOverrides>> = { 'listen.port': 'port', 'listen.host': 'host', 'admin.port': 'adminPort' };
const FLAG_NAME: Partial<Record<Key, string>> = { 'listen.port': '--port', 'listen.host': '--host', 'admin.port': '--admin-port' };

/** A path as the user would like to read it: `./x.yaml` inside the working directory, else absolute. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : file;
}

/**
 * Reads the addresses the way `velo start` would; rejects with a `ConfigError` only when the file
 * cannot be read or is not YAML/JSON at all (other problems leave that setting at its default).
 */
export async function lookupAddresses(opts: LoadOptions = {}): Promise<Addresses> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = await findConfigFile({ ...opts, env, cwd });
  const text = await readConfigFile(file);
  const validated = validateConfigText(text, file);
  if (validated.syntaxError) throw new ConfigError(validated.issues, file);
  const { config } = validated;
  // `locate` falls back to the nearest parent, so a key is in the file when it is found at
  // another place than its parent (a value's position differs from its map's, flow style too).
  const inFile = (key: Key): boolean => {
    const at = validated.locate(key);
    const parent = validated.locate(key.split('.')[0]!);
    return file !== undefined && at.line !== undefined && (at.line !== parent.line || at.column !== parent.column) && validated.issues.every((i) => i.path !== key);
  };
  const setting = <T extends string | number>(key: Key, fileValue: T, parse: (raw: string) => T | undefined): Setting<T> => {
    const flag = FLAG_OF[key];
    const flagValue = flag === undefined ? undefined : opts.flags?.[flag];
    if (flagValue !== undefined) return { value: flagValue as T, from: 'flag', name: FLAG_NAME[key]! };
    const fromEnvironment = fromEnv(env, ...ADDRESS_ENV[key]);
    const parsed = fromEnvironment === undefined ? undefined : parse(fromEnvironment.value);
    if (fromEnvironment !== undefined && parsed !== undefined) return { value: parsed, from: 'env', name: `$${fromEnvironment.path.slice(4)}` };
    return inFile(key) ? { value: fileValue, from: 'file', name: key } : { value: fileValue, from: 'default', name: key };
  };
  const port = (raw: string): number | undefined => (/^\d+$/.test(raw) && Number(raw) <= 65535 ? Number(raw) : undefined);
  const host = (raw: string): string | undefined => normalizeListenHost(raw);
  return {
    file: file === undefined ? undefined : shownPath(file, cwd),
    listen: { host: setting('listen.host', config.listen.host, host), port: setting('listen.port', config.listen.port, port), tls: config.listen.tls !== undefined },
    admin: {
      enabled: config.admin.enabled,
      host: setting('admin.host', config.admin.host, host),
      port: setting('admin.port', config.admin.port, port),
      token: nonEmpty(env.VELO_ADMIN_TOKEN) ?? config.admin.token,
    },
  };
}

/** `listen.port in ./velo.config.yaml`, `$VELO_PORT`, `--port`, or `the default listen.port`. */
export function describeOrigin(s: Setting<unknown>, file: string | undefined): string {
  if (s.from === 'file') return `${s.name} in ${file}`;
  if (s.from === 'default') return file === undefined ? `the default ${s.name}, no config file` : `the default ${s.name}, not set in ${file}`;
  return s.name;
}

/** Where clients reach an address velo binds: a wildcard address means this machine. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** `host:port` with IPv6 in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
