/**
 * A real `redis-server` for one test, on a unix socket in a fresh temp directory (redis-server
 * cannot listen on port 0, and probing for a free TCP port races with parallel tests), without
 * persistence. Killed (SIGKILL) and its directory removed by the test's teardown. `kill` and
 * `restart` let a test take Redis away mid-run and bring it back on the same socket.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** True when `redis-server` is on PATH (CI installs it: .ci/run). */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A running redis-server and how to reach it. */
export interface TestRedis {
  /** The socket path. */
  socket: string;
  /** `unix:///...` for `cluster.redis`. */
  url: string;
  /** SIGKILLs the server (no goodbye to clients) and resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same socket and resolves once it answers PING. */
  restart(): Promise<void>;
}

/** Starts redis-server for this test; resolves once it answers PING (deadline 10 s). */
export async function startRedisServer(t: ExecutionContext): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'velo-redis-'));
  const socket = join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    rmSync(socket, { force: true });
    const proc = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await pings(socket))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${socket} within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };
  t.teardown(async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await launch();
  return { socket, url: `unix://${socket}`, kill, restart: launch };
}

/** True when a PING on `socket` is answered `+PONG` within 500 ms. */
function pings(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    let reply = '';
    conn.on('connect', () => conn.write('PING\r\n'));
    conn.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    conn.on('error', () => done(false));
  });
}
