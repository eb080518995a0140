/**
 * When the dashboard cannot render (here: no terminal to draw on, and a broken snapshot),
 * velo says why on stderr in a structured line and keeps serving with plain logs until
 * SIGTERM, then returns (built code, a real child process).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = (path: string): string => fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));

const SCRIPT = `
import { runDashboard } from ${JSON.stringify(dist('src/cli/dashboard-mode.js'))};
import { Logger } from ${JSON.stringify(dist('src/log/logger.js'))};
const keepServing = setInterval(() => {}, 1000);
const broken = { pools: 'not a list' };
const engine = { observers: [], pools: [], sampler: { subscribe: () => () => {}, tick: () => broken }, snapshot: broken };
await runDashboard({ engine, control: {}, shutdown: async () => {} }, new Logger('info'));
process.stderr.write('dashboard mode returned\\n');
clearInterval(keepServing);
`;

test('a render failure falls back to structured logs, waits for a signal, and returns', async (t) => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  while (!stderr.includes('dashboard failed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const failure = stderr.split('\n').find((l) => l.includes('dashboard failed'));
  t.truthy(failure, stderr);
  t.like(JSON.parse(failure!), { level: 'error' });
  t.false(stderr.includes('dashboard mode returned'), 'still serving until a signal');
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(stderr, /"msg":"signal received, draining","signal":"SIGTERM"[^\n]*\ndashboard mode returned/);
});
