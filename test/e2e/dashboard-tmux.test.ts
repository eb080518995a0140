/**
 * The built `velo start` in a real terminal (a private tmux server, 120x40): the dashboard
 * shows the backends; j then d drains one and it gets no new requests; s switches the strategy
 * and the distribution follows; a, a URL, Enter adds a backend that then serves; q exits 0.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { startTestBackend, type TestBackend } from '../../src/backend/test-backend.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const DEADLINE_MS = 15_000;

async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Terminal {
  screen(): string;
  keys(...keys: string[]): void;
  type(text: string): void;
  /** Waits until the screen matches `pattern`; the error shows the last screen. */
  waitFor(pattern: RegExp, what?: string): Promise<string>;
  exitCode(): Promise<number>;
  port: number;
}

async function startBackends(t: ExecutionContext, names: string[]): Promise<TestBackend[]> {
  const backends = await Promise.all(names.map((name) => startTestBackend({ name })));
  t.teardown(() => Promise.all(backends.map((b) => b.close())).then(() => undefined));
  return backends;
}

/** Runs `velo start` on a config listing `backends` (with weights) in a fresh tmux server, 120x40. */
async function launch(t: ExecutionContext, backends: Array<{ backend: TestBackend; weight?: number }>): Promise<Terminal> {
  const dir = mkdtempSync(join(tmpdir(), 'velo-e2e-'));
  const file = (name: string): string => join(dir, name);
  writeFileSync(
    file('velo.yaml'),
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'strategy: round-robin',
      'health_check: { interval: 200ms, timeout: 500ms, rise: 1, fall: 2 }',
      'access_log: false',
      'backends:',
      ...backends.map(({ backend, weight }) => `  - { url: ${backend.url}, name: ${backend.name}, weight: ${weight ?? 1} }`),
      '',
    ].join('\n'),
  );
  writeFileSync(file('tmux.conf'), 'set -g status off\nset -g default-shell /bin/sh\n');
  // A private server on a socket inside the test's directory: nothing is left in /tmp/tmux-UID afterwards.
  const socket = file(`tmux-velo-test-${randomBytes(4).toString('hex')}.sock`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TMUX|TMUX_PANE|CI|CONTINUOUS_INTEGRATION)$/.test(k)));
  const tmux = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-S', socket, '-f', file('tmux.conf'), ...args], { env, encoding: 'utf8' });
    if (r.error) throw new Error(`tmux is required for this test (apt-get install tmux): ${r.error.message}`);
    return r.stdout;
  };
  // The inner shell records its pid and becomes velo, in the foreground on the pane's TTY; the outer one records the exit code.
  const velo = `exec env -u CI -u CONTINUOUS_INTEGRATION ${process.execPath} ${BIN} start -c ${file('velo.yaml')} --port 0 --admin-port 0 2>${file('stderr')}`;
  tmux('new-session', '-d', '-s', 'velo', '-x', '120', '-y', '40', `sh -c 'echo $$ > ${file('pid')}; ${velo}'; echo EXIT:$? > ${file('exit')}`);
  t.teardown(async () => {
    if (!existsSync(file('exit')) && existsSync(file('pid'))) {
      const pid = Number(readFileSync(file('pid'), 'utf8'));
      try {
        process.kill(pid, 'SIGTERM');
        await eventually(() => existsSync(file('exit')), 'velo to stop', 5000).catch(() => process.kill(pid, 'SIGKILL'));
      } catch {
        // Already gone.
      }
    }
    tmux('kill-server');
    rmSync(dir, { recursive: true, force: true });
  });
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'velo');
  const waitFor = (pattern: RegExp, what = String(pattern)): Promise<string> =>
    eventually(() => {
      const s = screen();
      return pattern.test(s) ? s : undefined;
    }, what).catch((err: Error) => {
      const stderr = existsSync(file('stderr')) ? readFileSync(file('stderr'), 'utf8').slice(-1500) : '';
      throw new Error(`${err.message}\n--- screen ---\n${screen()}\n--- stderr ---\n${stderr}`);
    });
  const header = await waitFor(/listening http:\/\/127\.0\.0\.1:([1-9]\d*)/, 'the header with the bound port');
  return {
    screen,
    keys: (...keys) => void tmux('send-keys', '-t', 'velo', ...keys),
    type: (text) => void tmux('send-keys', '-t', 'velo', '-l', text),
    waitFor,
    exitCode: async () => Number(/EXIT:(\d+)/.exec(await eventually(() => existsSync(file('exit')) && readFileSync(file('exit'), 'utf8'), 'velo to exit'))![1]),
    port: Number(/listening http:\/\/127\.0\.0\.1:([1-9]\d*)/.exec(header)![1]),
  };
}

async function send(t: ExecutionContext, port: number, count: number): Promise<void> {
  const agent = new Agent({ connections: 1 });
  t.teardown(() => agent.close());
  for (let i = 0; i < count; i++) {
    const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`request ${i} answered ${res.statusCode}`);
  }
}

const row = (name: string, state: string): RegExp => new RegExp(`^[› ] ${name}\\s+${state}\\s`, 'm');
const counts = (backends: TestBackend[]): number[] => backends.map((b) => b.requests);

test.serial('the backends are shown with their state, and q exits 0', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const term = await launch(t, backends.map((backend) => ({ backend })));
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  t.regex(term.screen(), /strategy round-robin/);
  t.regex(term.screen(), /3\/3 available/);
  term.keys('q');
  t.is(await term.exitCode(), 0);
});

test.serial('j then d drains the second backend: it shows draining and gets no new requests', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const term = await launch(t, backends.map((backend) => ({ backend })));
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  term.keys('j');
  await term.waitFor(/^› b2 /m, 'b2 selected');
  term.keys('d');
  await term.waitFor(row('b2', 'draining'), 'b2 draining');
  const before = counts(backends);
  await send(t, term.port, 30);
  const after = counts(backends);
  t.is(after[1]! - before[1]!, 0, 'the draining backend got nothing');
  t.deepEqual([after[0]! - before[0]!, after[2]! - before[2]!], [15, 15], 'the others share the traffic');
  term.keys('d');
  await term.waitFor(row('b2', 'healthy'), 'b2 back in rotation');
  term.keys('q');
  t.is(await term.exitCode(), 0);
});

test.serial('s switches round-robin to weighted-round-robin on screen and in the distribution', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const term = await launch(t, [{ backend: backends[0]! }, { backend: backends[1]! }, { backend: backends[2]!, weight: 4 }]);
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  let before = counts(backends);
  await send(t, term.port, 30);
  t.deepEqual(counts(backends).map((n, i) => n - before[i]!), [10, 10, 10], 'round robin ignores weights');
  term.keys('s');
  await term.waitFor(/strategy weighted-round-robin/, 'the new strategy in the header');
  before = counts(backends);
  await send(t, term.port, 60);
  t.deepEqual(counts(backends).map((n, i) => n - before[i]!), [10, 10, 40], 'weights 1:1:4');
  term.keys('q');
  t.is(await term.exitCode(), 0);
});

test.serial('a, a URL, Enter: the new backend appears and serves', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const [extra] = await startBackends(t, ['b4']);
  const term = await launch(t, backends.map((backend) => ({ backend })));
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  term.keys('a');
  await term.waitFor(/add backend \(URL \[weight\]\):/, 'the input');
  term.type(extra!.url);
  term.keys('Enter');
  const host = extra!.url.replace('http://', '');
  await term.waitFor(new RegExp(`✓ added ${host.replace(/\./g, '\\.')} to pool default`), 'the confirmation');
  await term.waitFor(row(host.replace(/\./g, '\\.'), 'healthy'), 'the new row, healthy');
  await send(t, term.port, 8);
  t.is(extra!.requests, 2, 'round robin gives it one request in four');
  term.keys('q');
  t.is(await term.exitCode(), 0);
});
