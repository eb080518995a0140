/**
 * `velo start --workers 2` as an operator runs it: the built binary, headless. One `listening`
 * line for the whole instance, SIGUSR2 and `velo reload --workers` replace the workers without a
 * failed request, a bad `--workers` is a usage error, and SIGTERM drains them all and exits 0.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { eventually, startBackends } from '../integration/harness.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

test('--workers 2: one listening line, SIGUSR2 and velo reload --workers replace the workers, SIGTERM drains and exits 0', async (t) => {
  const backends = await startBackends(t, 2);
  const child = spawn(process.execPath, [BIN, 'start', '--headless', '--workers', '2', '--port', '0', '--host', '127.0.0.1', '--admin-port', '0', '--no-access-log', ...backends.flatMap((b) => ['-b', b.url])], {
    env: { ...process.env, VELO_CONFIG: '', LB_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  const lines = () => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  await eventually(() => lines().some((l) => l.msg === 'admin listening') && lines().some((l) => l.msg === 'listening'), 20_000, 'listening lines');
  const listening = lines().filter((l) => l.msg === 'listening');
  t.is(listening.length, 1, 'the workers do not each announce themselves');
  t.is(listening[0]!.workers, 2);
  const port = Number(String(listening[0]!.address).split(':').pop());
  const admin = String(lines().find((l) => l.msg === 'admin listening')!.address);
  const pids = async (): Promise<number[]> => ((await (await request(`${admin}/api/workers`)).body.json()) as { workers: Array<{ pid: number; state: string }> }).workers.filter((w) => w.state === 'ready').map((w) => w.pid);
  const first = await pids();
  t.is(first.length, 2);

  child.kill('SIGUSR2');
  await eventually(async () => {
    const now = await pids();
    return now.length === 2 && now.every((p) => !first.includes(p));
  }, 20_000, 'SIGUSR2 to replace both workers');
  const second = await pids();
  const reload = spawnSync(process.execPath, [BIN, 'reload', '--workers', '--admin', admin], { encoding: 'utf8', timeout: 30_000 });
  t.is(reload.status, 0, reload.stderr);
  t.regex(reload.stdout, /^replaced 2 workers: now #\d+ \(pid \d+\), #\d+ \(pid \d+\)\n$/);
  const third = await pids();
  t.true(third.every((p) => !second.includes(p)));

  const res = await request(`http://127.0.0.1:${port}/`);
  t.is(res.statusCode, 200);
  await res.body.text();
  child.kill('SIGTERM');
  t.is(await exited, 0);
  const stopped = lines().find((l) => l.msg === 'stopped');
  t.like(stopped, { cut: 0, forced: false });
  t.false(err.includes('"level":"error"'), err);
  // Every worker is gone with the primary.
  await eventually(() => third.every((pid) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }), 5000, 'the workers to exit');
});

test('--workers takes a number from 1 to 256 or auto; anything else is a usage error (exit 2)', (t) => {
  const r = spawnSync(process.execPath, [BIN, 'start', '--headless', '--workers', 'many', '-b', 'http://127.0.0.1:1'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, VELO_CONFIG: '' } });
  t.is(r.status, 2);
  t.regex(r.stderr, /--workers: must be a number from 1 to 256 or auto, got "many"/);
});
