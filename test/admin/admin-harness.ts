/**
 * An in-process velo with its admin API on 127.0.0.1:0, and a small JSON client for it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Agent, request } from 'undici';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { startVelo, type Velo } from '../integration/harness.js';

/** Health checks off: every backend counts as healthy at once, so tests need not wait. */
export const NO_HEALTH = 'health_check: { enabled: false }\n';

export interface AdminVelo extends Velo {
  admin: AdminServer;
  api: Api;
}

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface ApiOptions {
  /** A value to send as JSON, or a string sent as is; `Content-Type: application/json` unless `headers` set one. */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export type Api = (method: string, path: string, options?: ApiOptions) => Promise<ApiReply>;

/** A JSON client for an admin API at `base`, closed at teardown. */
export function apiClient(t: ExecutionContext, base: string): Api {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  t.teardown(() => agent.close());
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    // Like the CLI's client: a body is declared JSON unless the test says otherwise.
    if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await request(base + path, { method: method as 'GET', headers, body, dispatcher: agent });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  };
}

/** Starts velo (see `startVelo`, sampler ticking every 50 ms) and its admin API; `token` and `env` go to the admin server. */
export async function startAdminVelo(
  t: ExecutionContext,
  yaml: string,
  backends?: string[],
  options: { token?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<AdminVelo> {
  const velo = await startVelo(t, yaml, backends, { sampleEveryMs: 50 });
  const admin = await startAdminServer(velo.engine, velo.control, { ...velo.config.admin, token: options.token }, { env: options.env ?? {} });
  t.teardown(() => admin.close());
  return { ...velo, admin, api: apiClient(t, admin.url) };
}

/** What a rejected call must leave untouched: backends, weights, draining flags and strategies. */
export function poolState(velo: Velo): string {
  return JSON.stringify(
    velo.engine.pools.map((p) => ({ name: p.name, strategy: p.strategyName, backends: p.upstreams.map((u) => [u.id, u.weight, u.draining]) })),
  );
}

/** Sequence number of the engine's latest event (every accepted change adds one). */
export function lastEventSeq(velo: Velo): number {
  return velo.engine.events.recent(1)[0]?.seq ?? 0;
}

/** The built `velo` binary (`npm run build` first). */
export const VELO_BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built binary without blocking the event loop (the in-process velo keeps serving). */
export function runVelo(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliRun> {
  const started = performance.now();
  // No address from the caller's environment; the repository's velo.config.yaml still applies
  // unless `cwd` is given (the tests that rely on the lookup pass their own directory).
  const clean = { ...process.env, VELO_ADMIN: '', VELO_ADMIN_TOKEN: '', VELO_URL: '', VELO_CONFIG: '', LB_CONFIG: '', VELO_PORT: '', VELO_ADMIN_PORT: '', NO_COLOR: '1', ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [VELO_BIN, ...args], { env: clean, timeout: 30_000, cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
