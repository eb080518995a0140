/**
 * Where velo's configuration comes from and in which order: defaults < file < environment <
 * flags. The result is validated as a whole; any problem throws one `ConfigError` listing all.
 */
import { access, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolveStrategyName } from '../balancing/registry.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { BackendConfig, LogLevel, VeloConfig } from './types.js';
import { parseDuration } from './parse-duration.js';
import { addBackend, readBackendUrl, strategyHint } from './schema-pool.js';
import { IssueCollector } from './schema-node.js';
import { LOG_LEVELS, normalizeListenHost, validateConfigText, type ValidatedConfig } from './schema.js';

/** Command-line flags that override the file and the environment; they apply to the first pool. */
export interface FlagOverrides {
  port?: number;
  host?: string;
  adminPort?: number;
  strategy?: string;
  /** Replaces the first pool's backends. */
  backends?: string[];
}

/** Inputs of `loadConfig`; `env` defaults to `process.env`, `cwd` to `process.cwd()`. */
export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: FlagOverrides;
  cwd?: string;
}

/** The file looked for in the working directory when neither `-c` nor `$VELO_CONFIG` is given. */
export const DEFAULT_CONFIG_FILE = 'velo.config.yaml';

const PORT_HINT = 'expected a whole number from 0 to 65535';
const HOST_HINT = 'expected an IP address such as 0.0.0.0 or 127.0.0.1, or a host name';
// LOG_LEVEL is shared with other tools; accept their common spellings rather than fail.
const LOG_LEVEL_SYNONYMS: Readonly<Record<string, LogLevel>> = { trace: 'debug', warning: 'warn', fatal: 'error' };
const NO_BACKENDS_HINT = 'requests get 503 until one is added: in the config, with --backend URL, or at runtime (velo servers add URL)';

/**
 * Environment variables that set the listen and admin addresses, first one set wins (the seed's
 * names after velo's own). `applyEnv` and the address lookup of the CLI helpers share them.
 */
export const ADDRESS_ENV = {
  'listen.port': ['VELO_PORT', 'LB_PORT'],
  'listen.host': ['VELO_HOST', 'LB_ADDRESS'],
  'admin.port': ['VELO_ADMIN_PORT'],
  'admin.host': ['VELO_ADMIN_HOST'],
} as const;

/**
 * The absolute path of the config file to read: `file`, else `$VELO_CONFIG` (or the seed's
 * `$LB_CONFIG`), else
 * `./velo.config.yaml` when it exists, else undefined (defaults only). Never throws.
 */
export async function findConfigFile(opts: LoadOptions = {}): Promise<string | undefined> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  // LB_CONFIG is the seed's name for $VELO_CONFIG.
  const explicit = opts.file ?? nonEmpty(env.VELO_CONFIG) ?? nonEmpty(env.LB_CONFIG);
  if (explicit !== undefined) return resolve(cwd, explicit);
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  try {
    await access(fallback);
    return fallback;
  } catch {
    return undefined;
  }
}

/**
 * The text of the config file found by the lookup ('' when there is none); rejects with a
 * `ConfigError` naming the file when it cannot be read.
 */
export async function readConfigFile(file: string | undefined): Promise<string> {
  if (file === undefined) return '';
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${reason}`, hint: 'check the path given with -c or $VELO_CONFIG' }], file);
  }
}

/**
 * Reads, merges and validates the configuration; resolves to a complete `VeloConfig` or
 * rejects with a `ConfigError` naming every problem and the file.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<VeloConfig> {
  const file = await findConfigFile(opts);
  const text = await readConfigFile(file);
  return parseConfigText(text, file, { env: opts.env ?? process.env, flags: opts.flags });
}

/**
 * Validates config `text` (YAML or JSON) and applies `env` and `flags` on top; returns a complete
 * `VeloConfig` or throws a `ConfigError` with every problem. Does no I/O; without `env` the
 * environment is ignored.
 */
export function parseConfigText(
  text: string,
  file?: string,
  overrides: { env?: NodeJS.ProcessEnv; flags?: FlagOverrides } = {},
): VeloConfig {
  const validated = validateConfigText(text, file);
  if (validated.syntaxError) throw new ConfigError(validated.issues, file);
  const { config } = validated;
  const c = new IssueCollector();
  if (overrides.env !== undefined) applyEnv(c, config, overrides.env);
  if (overrides.flags !== undefined) applyFlags(c, config, overrides.flags);
  const merged = checkMerged(config, validated);
  const issues = [...validated.issues, ...c.issues, ...merged.issues];
  if (issues.length > 0) throw new ConfigError(issues, file);
  if (file !== undefined) config.source = resolve(file);
  if (merged.warnings.length > 0) config.warnings = merged.warnings;
  return config;
}

/** The value of an environment variable, trimmed; undefined when unset or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/** The first of `names` set to a non-empty value; VELO_* names come first so they win. */
export function fromEnv(env: NodeJS.ProcessEnv, ...names: string[]): { path: string; value: string } | undefined {
  for (const name of names) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) return { path: `env.${name}`, value };
  }
  return undefined;
}

function parsePort(c: IssueCollector, path: string, raw: string | number): number | undefined {
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  c.report(path, undefined, `${JSON.stringify(raw)} is not a port`, PORT_HINT);
  return undefined;
}

function parseHost(c: IssueCollector, path: string, raw: string): string | undefined {
  const host = normalizeListenHost(raw);
  if (host === undefined) c.report(path, undefined, `${JSON.stringify(raw)} is not an address to listen on`, HOST_HINT);
  return host;
}

function parseStrategy(c: IssueCollector, path: string, raw: string): VeloConfig['pools'][number]['strategy'] | undefined {
  const name = resolveStrategyName(raw);
  if (name === undefined) c.report(path, undefined, `unknown strategy ${JSON.stringify(raw)}`, strategyHint());
  return name;
}

function parseBackends(c: IssueCollector, path: string, urls: readonly string[]): BackendConfig[] | undefined {
  const backends: BackendConfig[] = [];
  const before = c.issues.length;
  urls.forEach((raw, i) => {
    const url = readBackendUrl(c, undefined, `${path}[${i}]`, raw);
    if (url !== undefined) addBackend(c, backends, { url, weight: 1 }, `${path}[${i}]`, undefined);
  });
  return c.issues.length === before ? backends : undefined;
}

function applyEnv(c: IssueCollector, config: VeloConfig, env: NodeJS.ProcessEnv): void {
  const pool = config.pools[0];
  const port = fromEnv(env, ...ADDRESS_ENV['listen.port']);
  if (port !== undefined) config.listen.port = parsePort(c, port.path, port.value) ?? config.listen.port;
  const host = fromEnv(env, ...ADDRESS_ENV['listen.host']);
  if (host !== undefined) config.listen.host = parseHost(c, host.path, host.value) ?? config.listen.host;
  const strategy = fromEnv(env, 'VELO_STRATEGY', 'LB_STRATEGY', 'LB_ALGORITHM');
  if (strategy !== undefined && pool !== undefined) pool.strategy = parseStrategy(c, strategy.path, strategy.value) ?? pool.strategy;
  const adminPort = fromEnv(env, ...ADDRESS_ENV['admin.port']);
  if (adminPort !== undefined) config.admin.port = parsePort(c, adminPort.path, adminPort.value) ?? config.admin.port;
  const adminHost = fromEnv(env, ...ADDRESS_ENV['admin.host']);
  if (adminHost !== undefined) config.admin.host = parseHost(c, adminHost.path, adminHost.value) ?? config.admin.host;
  const token = fromEnv(env, 'VELO_ADMIN_TOKEN');
  if (token !== undefined) config.admin.token = token.value;
  const level = fromEnv(env, 'VELO_LOG_LEVEL', 'LOG_LEVEL');
  if (level !== undefined) {
    const lower = level.value.toLowerCase();
    const value = (LOG_LEVEL_SYNONYMS[lower] ?? lower) as LogLevel;
    if (LOG_LEVELS.includes(value)) config.logLevel = value;
    else c.report(level.path, undefined, `${JSON.stringify(level.value)} is not a log level`, `expected one of: ${LOG_LEVELS.join(', ')}`);
  }
  applySeedEnv(c, config, env, level !== undefined);
  const backends = fromEnv(env, 'VELO_BACKENDS');
  if (backends !== undefined && pool !== undefined) {
    const urls = backends.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    pool.backends = parseBackends(c, backends.path, urls) ?? pool.backends;
  }
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/**
 * The seed's remaining variables: `LB_DEBUG` (debug logging unless a log level is set),
 * `HEALTH_CHECK_INTERVAL`, `HEALTH_CHECK_TIMEOUT` and `CIRCUIT_FAILURE_THRESHOLD` (every pool;
 * a `VELO_` prefix works too). A bad value is an error, never ignored.
 */
function applySeedEnv(c: IssueCollector, config: VeloConfig, env: NodeJS.ProcessEnv, levelSet: boolean): void {
  const debug = fromEnv(env, 'LB_DEBUG');
  if (debug !== undefined) {
    const word = debug.value.toLowerCase();
    if (TRUE_WORDS.has(word)) {
      if (!levelSet) config.logLevel = 'debug';
    } else if (!FALSE_WORDS.has(word)) c.report(debug.path, undefined, `${JSON.stringify(debug.value)} is not a yes or no`, 'expected 1, true, yes, on, or 0, false, no, off');
  }
  for (const [names, key] of [
    [['VELO_HEALTH_CHECK_INTERVAL', 'HEALTH_CHECK_INTERVAL'], 'intervalMs'],
    [['VELO_HEALTH_CHECK_TIMEOUT', 'HEALTH_CHECK_TIMEOUT'], 'timeoutMs'],
  ] as const) {
    const found = fromEnv(env, ...names);
    if (found === undefined) continue;
    // A bare number is refused: seconds or milliseconds would be a guess.
    const ms = /^[\d.]+$/.test(found.value) ? undefined : parseDuration(found.value);
    if (ms === undefined || ms <= 0) c.report(found.path, undefined, `${JSON.stringify(found.value)} is not a duration with a unit`, 'expected a duration such as 5s, 500ms or 1m');
    else for (const pool of config.pools) pool.healthCheck[key] = ms;
  }
  const threshold = fromEnv(env, 'VELO_CIRCUIT_FAILURE_THRESHOLD', 'CIRCUIT_FAILURE_THRESHOLD');
  if (threshold !== undefined) {
    const n = /^\d+$/.test(threshold.value) ? Number(threshold.value) : NaN;
    if (!(n >= 1 && n <= 1000)) c.report(threshold.path, undefined, `${JSON.stringify(threshold.value)} is not a failure count`, 'expected a whole number from 1 to 1000');
    else for (const pool of config.pools) pool.circuitBreaker.failureThreshold = n;
  }
}

function applyFlags(c: IssueCollector, config: VeloConfig, flags: FlagOverrides): void {
  const pool = config.pools[0];
  if (flags.port !== undefined) config.listen.port = parsePort(c, '--port', flags.port) ?? config.listen.port;
  if (flags.host !== undefined) config.listen.host = parseHost(c, '--host', flags.host) ?? config.listen.host;
  if (flags.adminPort !== undefined) config.admin.port = parsePort(c, '--admin-port', flags.adminPort) ?? config.admin.port;
  if (flags.strategy !== undefined && pool !== undefined) pool.strategy = parseStrategy(c, '--strategy', flags.strategy) ?? pool.strategy;
  if (flags.backends !== undefined && flags.backends.length > 0 && pool !== undefined) {
    pool.backends = parseBackends(c, '--backend', flags.backends) ?? pool.backends;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Rules that only make sense once file, environment and flags are merged. A pool without
 * backends is a warning, not an error: pools may be empty (requests get 503, termination UH)
 * and filled at runtime, as HAProxy serves a backend section whose servers are all down.
 */
function checkMerged(config: VeloConfig, validated: ValidatedConfig): { issues: ConfigIssue[]; warnings: ConfigIssue[] } {
  const issueAt = (path: string, message: string, hint: string): ConfigIssue => ({ path, ...validated.locate(path), message, hint });
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  for (const [i, pool] of config.pools.entries()) {
    // An SRV name brings its backends itself; with Docker discovery, containers fill the pools:
    // an empty one is expected, not a mistake.
    if (pool.backends.length > 0 || (pool.dns?.srv.length ?? 0) > 0 || config.providers?.docker !== undefined) continue;
    const prefix = validated.poolPaths[i] ?? `pools[${i}]`;
    const path = prefix === '' ? 'backends' : `${prefix}.backends`;
    // Entries that were listed but invalid are reported already; "no backends" would be noise.
    if (validated.issues.some((issue) => issue.path.startsWith(`${path}[`))) continue;
    const label = pool.name !== '' ? `pool "${pool.name}"` : prefix;
    warnings.push(issueAt(path, `${label} has no backends`, NO_BACKENDS_HINT));
  }
  const { admin, listen } = config;
  if (admin.enabled && admin.port !== 0 && admin.port === listen.port) {
    issues.push(issueAt('admin.port', `admin.port ${admin.port} is also the listen port`, 'give the admin API its own port, e.g. 8407'));
  }
  if (admin.enabled && !isLoopback(admin.host) && admin.token === undefined) {
    issues.push(issueAt('admin.token', `the admin API listens on ${admin.host} without a token`, 'set admin.token (or VELO_ADMIN_TOKEN), or keep admin.host on 127.0.0.1'));
  }
  return { issues, warnings };
}
