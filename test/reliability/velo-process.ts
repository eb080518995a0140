/**
 * The built `velo start --headless` as a child process of the test, so its file descriptors
 * (`/proc/<pid>/fd`) and memory (`/proc/<pid>/status`) are velo's alone. Listen and admin
 * ports are 0; the bound addresses are read from velo's own log lines.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { eventually } from '../integration/harness.js';

export const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface VeloProcess {
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:PORT` of the balancer. */
  url: string;
  /** `http://127.0.0.1:PORT` of the admin API. */
  adminUrl: string;
  port: number;
  configFile: string;
  /** velo's structured log lines so far (stderr). */
  lines(): Array<Record<string, unknown>>;
  exited: Promise<Exit>;
  /** Open file descriptors of the velo process now. */
  fds(): number;
  /** Resident set size now, bytes. */
  rssBytes(): number;
  /** Peak resident set size since start (VmHWM), bytes. */
  peakRssBytes(): number;
  /** A JSON GET against the admin API. */
  adminJson<T = Record<string, unknown>>(path: string, token?: string): Promise<T>;
  /** Rewrites the config file (velo's file watch or SIGHUP picks it up). */
  writeConfig(yaml: string): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
}

/** True where /proc exposes per-process fds and memory (Linux). */
export const HAS_PROC = existsSync('/proc/self/fd') && existsSync('/proc/self/status');

function procStatusKb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * Writes `yaml` to a fresh directory and starts velo on it with `--port 0 --admin-port 0`
 * on 127.0.0.1; resolves once both ports are bound. Killed (SIGKILL) at teardown if still running.
 */
export async function startVeloProcess(t: ExecutionContext, yaml: string, extraArgs: string[] = []): Promise<VeloProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-reliab-'));
  const configFile = join(dir, 'velo.config.yaml');
  await writeFile(configFile, yaml);
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--headless', '--no-access-log', '-c', configFile, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', ...extraArgs],
    { env: { ...process.env, VELO_CONFIG: '', VELO_ADMIN_TOKEN: '', NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  t.teardown(async () => {
    if (!done) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const lines = (): Array<Record<string, unknown>> =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const line = (msg: string): Record<string, unknown> | undefined => lines().find((l) => l.msg === msg);
  await eventually(() => done || (line('listening') !== undefined && line('admin listening') !== undefined), 15_000, 'velo listening and admin listening lines');
  if (done) throw new Error(`velo exited at start:\n${err}`);
  const port = Number(String(line('listening')!.address).split(':').pop());
  const adminUrl = String(line('admin listening')!.address);
  const pid = child.pid!;
  return {
    child,
    pid,
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    port,
    configFile,
    lines,
    exited,
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    rssBytes: () => procStatusKb(pid, 'VmRSS') * 1024,
    peakRssBytes: () => procStatusKb(pid, 'VmHWM') * 1024,
    adminJson: async <T>(path: string, token?: string): Promise<T> => {
      const res = await request(`${adminUrl}${path}`, { headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} });
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${await res.body.text()}`);
      return (await res.body.json()) as T;
    },
    writeConfig: (text: string) => writeFile(configFile, text),
    stop: async (graceMs = 15_000): Promise<Exit> => {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/**
 * Polls velo's fd count until it is at most `bound`, or the deadline passes; returns the last
 * count either way, so the test's assertion (not a timeout error) reports the figure.
 */
export async function fdsSettle(velo: VeloProcess, bound: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = velo.fds();
  while (n > bound && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    n = velo.fds();
  }
  return n;
}

/** Polls velo's fd count until it is at least `count` or `timeoutMs` passes; returns the last count. */
export async function fdsReach(velo: VeloProcess, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = velo.fds();
  while (n < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    n = velo.fds();
  }
  return n;
}

/**
 * velo's fd count once it has stopped changing (the same for `steadyMs`), or after
 * `timeoutMs`: a baseline taken while closed connections are still being torn down would be high.
 */
export async function fdsSteady(velo: VeloProcess, steadyMs = 300, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = velo.fds();
  let since = Date.now();
  while (Date.now() - since < steadyMs && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const now = velo.fds();
    if (now !== n) {
      n = now;
      since = Date.now();
    }
  }
  return n;
}

/** An undici Agent destroyed at teardown unless the test closed it already. */
export function agent(t: ExecutionContext, connections = 16, opts: ConstructorParameters<typeof Agent>[0] = {}): Agent {
  const a = new Agent({ connections, keepAliveTimeout: 10_000, ...opts });
  t.teardown(() => a.destroy().catch(() => {}));
  return a;
}

/** MiB, one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
