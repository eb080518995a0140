/**
 * A real Docker engine for the Docker tests: `scripts/docker-test-env.sh` starts dockerd when
 * it is not running and imports the busybox test image; when dockerd cannot start on this
 * machine the tests register one skipped test whose title says why (visible in ava's output).
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TEST_IMAGE = 'velo-test-busybox:local';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (never rejects); output as text. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `docker ARGS`, rejecting with its stderr when it fails. */
export async function docker(...args: string[]): Promise<string> {
  const r = await run('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Ready, or the reason the Docker tests are skipped. */
export async function dockerReady(): Promise<{ ok: true; detail: string } | { ok: false; reason: string }> {
  const r = await run('bash', ['scripts/docker-test-env.sh'], { timeoutMs: 180_000 });
  if (r.code === 0) return { ok: true, detail: r.stdout.trim() };
  const reason = r.stderr.trim().split('\n').filter((l) => l !== '').slice(-3).join(' / ') || `exit ${r.code}`;
  return { ok: false, reason };
}

/**
 * Ports for containers on the host's network. A container binds its own port, so the test
 * cannot hand it a listening socket; each test process takes a block outside the kernel's
 * ephemeral range (32768+) that port-0 servers draw from, keyed by its pid.
 */
export function portBlock(size = 20): () => number {
  let next = 20_000 + (process.pid % 600) * 20;
  const end = next + size;
  return () => {
    if (next >= end) throw new Error('port block exhausted');
    return next++;
  };
}

/** Removes the containers at teardown, whatever state they are in. */
export function removeAtEnd(t: ExecutionContext, ...names: string[]): void {
  t.teardown(async () => {
    await run('docker', ['rm', '-f', ...names]);
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function within<T>(timeoutMs: number, what: string, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { spawn };
