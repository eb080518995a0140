/**
 * The built `velo start` binary from a shell: serves with flags only, logs structured lines
 * when not on a TTY, drains in-flight requests on SIGTERM and exits 0, reloads on SIGHUP,
 * refuses a bad config with its line and column.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, eventually, get, startBackends } from '../integration/harness.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface Proc {
  child: ChildProcess;
  lines: () => Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(t: { teardown: (fn: () => void) => void }, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, VELO_CONFIG: '', LB_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  return {
    child,
    stderr: () => err,
    lines: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

async function listeningPort(proc: Proc): Promise<number> {
  await eventually(() => proc.lines().some((l) => l.msg === 'listening'), 10_000, 'listening line');
  const line = proc.lines().find((l) => l.msg === 'listening')!;
  return Number(String(line.address).split(':').pop());
}

test('velo start with --backend flags serves, then drains on SIGTERM and exits 0', async (t) => {
  const backends = await startBackends(t, 2);
  const proc = run(t, ['start', '--port', '0', '--host', '127.0.0.1', '--admin-port', '0', ...backends.flatMap((b) => ['--backend', b.url])]);
  const port = await listeningPort(proc);
  const agent = client(t);
  const names = [];
  for (let i = 0; i < 4; i++) names.push((await get(agent, `http://127.0.0.1:${port}/`)).body.trim());
  t.deepEqual(names, ['b0', 'b1', 'b0', 'b1']);
  const slow = get(agent, `http://127.0.0.1:${port}/delay/400`);
  await eventually(() => backends[0]!.requests + backends[1]!.requests === 5, 3000, 'slow request reached a backend');
  proc.child.kill('SIGTERM');
  t.is((await slow).status, 200, 'the in-flight request finishes during shutdown');
  t.is(await proc.exited, 0);
  t.true(proc.lines().every((l) => typeof l.time === 'string' && typeof l.level === 'string'), 'not a TTY: structured JSON lines');
});

test('a bad config file exits 2 naming the field, line and column', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'velo-start-'));
  const file = join(dir, 'velo.config.yaml');
  await writeFile(file, 'listen: { port: 8080 }\nstrategy: fastest\nbackends:\n  - http://127.0.0.1:1\n');
  const proc = run(t, ['start', '-c', file]);
  t.is(await proc.exited, 2);
  t.regex(proc.stderr(), /velo\.config\.yaml:2:11 strategy: unknown strategy "fastest"/);
  t.regex(proc.stderr(), /round-robin/);
  t.notRegex(proc.stderr(), /\n\s+at /, 'no stack trace');
});

test('SIGHUP reloads the file; a broken edit keeps the running config', async (t) => {
  const backends = await startBackends(t, 2);
  const dir = await mkdtemp(join(tmpdir(), 'velo-reload-'));
  const file = join(dir, 'velo.config.yaml');
  const config = (urls: string[]): string => `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nbackends: [${urls.join(', ')}]\n`;
  await writeFile(file, config([backends[0]!.url]));
  const proc = run(t, ['start', '-c', file, '--no-watch']);
  const port = await listeningPort(proc);
  const agent = client(t);
  t.is((await get(agent, `http://127.0.0.1:${port}/`)).body.trim(), 'b0');
  await writeFile(file, config([backends[1]!.url]));
  proc.child.kill('SIGHUP');
  await eventually(() => proc.lines().some((l) => l.msg === 'config reloaded'), 5000, 'reload');
  t.is((await get(agent, `http://127.0.0.1:${port}/`)).body.trim(), 'b1');
  await writeFile(file, 'backends: [not a url]\n');
  proc.child.kill('SIGHUP');
  await eventually(() => proc.lines().some((l) => l.msg === 'reload rejected, old config kept'), 5000, 'rejected reload');
  t.is((await get(agent, `http://127.0.0.1:${port}/`)).body.trim(), 'b1', 'still serving the last good config');
  proc.child.kill('SIGTERM');
  t.is(await proc.exited, 0);
});

test('file watching survives atomic saves (write a temp file, rename it over the config)', async (t) => {
  const backends = await startBackends(t, 3);
  const dir = await mkdtemp(join(tmpdir(), 'velo-watch-'));
  const file = join(dir, 'velo.config.yaml');
  const config = (url: string): string => `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nbackends: [${url}]\n`;
  await writeFile(file, config(backends[0]!.url));
  const proc = run(t, ['start', '-c', file]);
  const port = await listeningPort(proc);
  const agent = client(t);
  const { rename } = await import('node:fs/promises');
  for (const [i, b] of [[1, backends[1]!], [2, backends[2]!]] as const) {
    const temp = join(dir, `.velo.config.yaml.${i}.tmp`);
    await writeFile(temp, config(b.url));
    await rename(temp, file);
    await eventually(async () => (await get(agent, `http://127.0.0.1:${port}/`)).body.trim() === `b${i}`, 5000, `reload ${i}`);
  }
  t.is(proc.lines().filter((l) => l.msg === 'config reloaded').length >= 2, true);
  proc.child.kill('SIGTERM');
  t.is(await proc.exited, 0);
});

/** A port held by another process-like listener for the whole test. */
async function busyPort(t: { teardown: (fn: () => void) => void }): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as { port: number }).port;
}

test('a listen port in use names the key that set it; a busy --port names the flag', async (t) => {
  const backends = await startBackends(t, 1);
  const port = await busyPort(t);
  const dir = await mkdtemp(join(tmpdir(), 'velo-busy-'));
  await writeFile(join(dir, 'velo.config.yaml'), `listen: { host: 127.0.0.1, port: ${port} }\nadmin: { port: 0 }\nbackends: [${backends[0]!.url}]\n`);
  const fromFile = run(t, ['start', '--headless'], {}, dir);
  t.is(await fromFile.exited, 1);
  t.regex(fromFile.stderr(), new RegExp(`^velo: port ${port} is in use \\(listen\\.port in \\./velo\\.config\\.yaml; change it or pass --port\\)\\n$`, 'm'));
  const fromFlag = run(t, ['start', '--port', String(port), '--host', '127.0.0.1', '--admin-port', '0', '-b', backends[0]!.url]);
  t.is(await fromFlag.exited, 1);
  t.regex(fromFlag.stderr(), new RegExp(`^velo: port ${port} is in use \\(--port; pass another --port\\)$`, 'm'));
  const fromEnv = run(t, ['start', '--host', '127.0.0.1', '--admin-port', '0', '-b', backends[0]!.url], { VELO_PORT: String(port) }, tmpdir());
  t.is(await fromEnv.exited, 1);
  t.regex(fromEnv.stderr(), new RegExp(`^velo: port ${port} is in use \\(\\$VELO_PORT; change it or pass --port\\)$`, 'm'));
});

test('an admin port in use stops start-up before "listening" is logged, naming admin.port', async (t) => {
  const backends = await startBackends(t, 1);
  const port = await busyPort(t);
  const dir = await mkdtemp(join(tmpdir(), 'velo-busy-admin-'));
  await writeFile(join(dir, 'velo.config.yaml'), `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: ${port} }\nbackends: [${backends[0]!.url}]\n`);
  const proc = run(t, ['start', '--headless'], {}, dir);
  t.is(await proc.exited, 1);
  t.regex(proc.stderr(), new RegExp(`^velo: admin port ${port} is in use \\(admin\\.port in \\./velo\\.config\\.yaml; change it or pass --admin-port\\)$`, 'm'));
  t.false(proc.lines().some((l) => l.msg === 'listening'), proc.stderr());
});

test('LB_CONFIG, the seed name of VELO_CONFIG, is honoured', async (t) => {
  const backends = await startBackends(t, 1);
  const dir = await mkdtemp(join(tmpdir(), 'velo-lb-config-'));
  const file = join(dir, 'seed.yaml');
  await writeFile(file, `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nbackends: [${backends[0]!.url}]\n`);
  const proc = run(t, ['start', '--headless'], { LB_CONFIG: file }, tmpdir());
  const port = await listeningPort(proc);
  const line = proc.lines().find((l) => l.msg === 'listening')!;
  t.regex(String(line.address), /^http:\/\/127\.0\.0\.1:\d+$/, 'the file\'s listen address, not the default 0.0.0.0');
  t.is((await get(client(t), `http://127.0.0.1:${port}/`)).body.trim(), 'b0');
  proc.child.kill('SIGTERM');
  t.is(await proc.exited, 0);
});
