/**
 * The built `velo start` in a real terminal (a private tmux server, 120x40 unless a test says
 * otherwise): the dashboard shows the backends and fills the terminal; j then d drains one and
 * it gets no new requests; the s picker switches the strategy and the distribution follows; a,
 * a URL, Enter adds a backend that then serves; q asks, y stops and exits 0; the drain is shown
 * with a request in flight; three Ctrl-C cut it and exit 1; a resize re-lays the frame; m puts a
 * backend in maintenance, and w then y writes the runtime changes into the config file.
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
  resize(columns: number, rows: number): void;
  keys(...keys: string[]): void;
  type(text: string): void;
  /** Waits until the screen matches `pattern`; the error shows the last screen. */
  waitFor(pattern: RegExp, what?: string): Promise<string>;
  exitCode(): Promise<number>;
  port: number;
  /** The config file velo was started with. */
  configFile: string;
}

async function startBackends(t: ExecutionContext, names: string[]): Promise<TestBackend[]> {
  const backends = await Promise.all(names.map((name) => startTestBackend({ name })));
  t.teardown(() => Promise.all(backends.map((b) => b.close())).then(() => undefined));
  return backends;
}

/** Terminal size and extra config lines for `launch`. */
interface LaunchOptions {
  columns?: number;
  rows?: number;
  config?: string[];
}

/** Runs `velo start` on a config listing `backends` (with weights) in a fresh tmux server, 120x40 unless told otherwise. */
async function launch(t: ExecutionContext, backends: Array<{ backend: TestBackend; weight?: number }>, options: LaunchOptions = {}): Promise<Terminal> {
  const { columns = 120, rows = 40 } = options;
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
      ...(options.config ?? []),
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
  tmux('new-session', '-d', '-s', 'velo', '-x', String(columns), '-y', String(rows), `sh -c 'echo $$ > ${file('pid')}; ${velo}'; echo EXIT:$? > ${file('exit')}`);
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
    resize: (c, r) => void tmux('resize-window', '-t', 'velo', '-x', String(c), '-y', String(r)),
    screen,
    keys: (...keys) => void tmux('send-keys', '-t', 'velo', ...keys),
    type: (text) => void tmux('send-keys', '-t', 'velo', '-l', text),
    waitFor,
    exitCode: async () => Number(/EXIT:(\d+)/.exec(await eventually(() => existsSync(file('exit')) && readFileSync(file('exit'), 'utf8'), 'velo to exit'))![1]),
    port: Number(/listening http:\/\/127\.0\.0\.1:([1-9]\d*)/.exec(header)![1]),
    configFile: file('velo.yaml'),
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

test.serial('the backends are shown with their state; q asks, n keeps running, q then y exits 0', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const term = await launch(t, backends.map((backend) => ({ backend })));
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  t.regex(term.screen(), /strategy round-robin/);
  t.regex(term.screen(), /3\/3 available/);
  term.keys('q');
  await term.waitFor(/stop velo\? 0 requests in flight, 0 WebSocket connections {2}y\/N/, 'the question');
  term.keys('n');
  await term.waitFor(/✓ still running/, 'n keeps it running');
  term.keys('q');
  await term.waitFor(/stop velo\?/, 'the question again');
  term.keys('y');
  t.is(await term.exitCode(), 0);
});

/** Sends one request to `path` through velo without waiting for it; resolves with its status. */
function sendSlow(t: ExecutionContext, port: number, path: string): Promise<number> {
  const agent = new Agent({ connections: 1 });
  t.teardown(() => agent.destroy());
  return request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent }).then(
    async (res) => {
      await res.body.dump();
      return res.statusCode;
    },
    () => -1,
  );
}

test.serial('during a drain the screen shows the request in flight and the time left; it finishes and velo exits 0', async (t) => {
  const backends = await startBackends(t, ['b1']);
  const term = await launch(t, [{ backend: backends[0]! }], { config: ['shutdown_timeout: 30s'] });
  await term.waitFor(row('b1', 'healthy'), 'b1 healthy');
  // 6 s: long enough that the request is still in flight when every line of the drain screen
  // has been seen, on a loaded machine too (3 s was not, once, in CI).
  const answered = sendSlow(t, term.port, '/delay/6000');
  await term.waitFor(/^› b1\s+healthy\s+closed\s+1 /m, 'the request in flight');
  term.keys('q');
  await term.waitFor(/stop velo\? 1 request in flight/, 'the question counts it');
  term.keys('y');
  await term.waitFor(/stopping velo: new connections refused, 1 request in flight; \d+s of shutdown_timeout \(30s\) left/, 'the drain screen');
  // The drain screen's lines may land in separate frames on a loaded machine: wait for each.
  await term.waitFor(/Ctrl-C twice more cuts them \(exit 1\)/, 'what a second Ctrl-C does');
  // The header and the drain line in one frame: both say the request is still in flight.
  await term.waitFor(/shutting down[\s\S]*1 request in flight/, 'the header says it while the request is in flight');
  t.is(await answered, 200, 'the request in flight finished');
  t.is(await term.exitCode(), 0);
});

test.serial('Ctrl-C three times: the drain, then what a third does, then the cut and exit 1', async (t) => {
  const backends = await startBackends(t, ['b1']);
  const term = await launch(t, [{ backend: backends[0]! }], { config: ['shutdown_timeout: 60s'] });
  await term.waitFor(row('b1', 'healthy'), 'b1 healthy');
  const answered = sendSlow(t, term.port, '/delay/30000');
  await term.waitFor(/^› b1\s+healthy\s+closed\s+1 /m, 'the request in flight');
  term.keys('C-c');
  await term.waitFor(/stopping velo: .*1 request in flight/, 'the drain screen');
  term.keys('C-c');
  await term.waitFor(/Ctrl-C once more cuts 1 request now and velo exits 1/, 'what a third does');
  term.keys('C-c');
  t.is(await term.exitCode(), 1);
  t.not(await answered, 200, 'the request was cut');
});

test.serial('the frame fills 60x20, 120x40 and 250x70: header first, key bar on the last line; a resize re-lays it', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  for (const [columns, rows] of [[60, 20], [120, 40], [250, 70]] as const) {
    const term = await launch(t, backends.map((backend) => ({ backend })), { columns, rows });
    await term.waitFor(row('b3', 'healthy'), 'b3 healthy');
    const lines = term.screen().split('\n');
    t.regex(lines[0]!, /^velo \d/, `${columns}x${rows}: header on the first line`);
    t.regex(lines[rows - 1]!, /\? help\s+q quit/, `${columns}x${rows}: key bar on the last line:\n${lines.join('\n')}`);
    t.true(lines.every((l) => l.length <= columns));
    if (columns === 250) {
      term.resize(80, 24);
      await term.waitFor(/^velo \d[^\n]*\n(?:[^\n]*\n){22}[^\n]*q quit/, 'the key bar on row 24 after the resize');
      const after = term.screen().split('\n');
      t.regex(after[23]!, /q quit/, `after the resize to 80x24:\n${after.join('\n')}`);
      t.regex(after[0]!, /^velo \d/);
    }
    term.keys('q');
    await term.waitFor(/stop velo\?/);
    term.keys('y');
    t.is(await term.exitCode(), 0);
  }
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
  await term.waitFor(/stop velo\?/);
  term.keys('y');
  t.is(await term.exitCode(), 0);
});

test.serial('the s picker switches round-robin to weighted-round-robin on screen and in the distribution', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2', 'b3']);
  const term = await launch(t, [{ backend: backends[0]! }, { backend: backends[1]! }, { backend: backends[2]!, weight: 4 }]);
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  let before = counts(backends);
  await send(t, term.port, 30);
  t.deepEqual(counts(backends).map((n, i) => n - before[i]!), [10, 10, 10], 'round robin ignores weights');
  term.keys('s');
  await term.waitFor(/❯ 1 round-robin {2}\(current\)/, 'the picker');
  term.keys('Down');
  await term.waitFor(/❯ 2 weighted-round-robin/, 'moved to the second');
  t.regex(term.screen(), /strategy round-robin/, 'moving applies nothing');
  term.keys('Enter');
  await term.waitFor(/strategy weighted-round-robin/, 'the new strategy in the header');
  before = counts(backends);
  await send(t, term.port, 60);
  t.deepEqual(counts(backends).map((n, i) => n - before[i]!), [10, 10, 40], 'weights 1:1:4');
  term.keys('q');
  await term.waitFor(/stop velo\?/);
  term.keys('y');
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
  await term.waitFor(/stop velo\?/);
  term.keys('y');
  t.is(await term.exitCode(), 0);
});

test.serial('m puts b2 in maintenance; + then w and y write it and the new weight into the config file, comments kept', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2']);
  const term = await launch(t, backends.map((backend) => ({ backend })), { config: ['# weights tuned by hand: keep this line'] });
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  term.keys('j');
  await term.waitFor(/^› b2 /m, 'b2 selected');
  term.keys('m');
  await term.waitFor(row('b2', 'maint'), 'b2 in maintenance');
  await term.waitFor(/✓ b2 in maintenance: no requests at all, health checks go on/, 'the status line');
  const before = counts(backends);
  await send(t, term.port, 10);
  t.deepEqual(counts(backends).map((n, i) => n - before[i]!), [10, 0], 'b2 is out of rotation');
  term.keys('+');
  await term.waitFor(/✓ weight of b2: 2/, 'the new weight');
  term.keys('w');
  const question = await term.waitFor(/write 2 runtime changes into \S*velo\.yaml\? y = write, n = cancel/, 'the save question');
  t.regex(question, /maintenance on b2 in pool default/);
  t.regex(question, /weight 2 on b2 in pool default/);
  t.notRegex(readFileSync(term.configFile, 'utf8'), /weight: 2/, 'nothing written before y');
  term.keys('y');
  await term.waitFor(/✓ saved 2 runtime changes into \S*velo\.yaml, its comments kept/, 'the save in the status line');
  const text = readFileSync(term.configFile, 'utf8');
  t.regex(text, /^# weights tuned by hand: keep this line$/m, `the comment survives:\n${text}`);
  const b2 = text.split('\n').find((l) => l.includes('name: b2'));
  t.regex(b2 ?? '', /weight: 2\b/, `b2's line has the new weight:\n${text}`);
  t.regex(text, /maintenance: true/, `the maintenance is saved:\n${text}`);
  term.keys('w');
  await term.waitFor(/✓ no runtime changes to save/, 'nothing left to save');
  term.keys('q');
  await term.waitFor(/stop velo\?/);
  term.keys('y');
  t.is(await term.exitCode(), 0);
});

test.serial('/ and a filter: the live log opens and shows only matching requests, and the dashboard keeps running', async (t) => {
  const backends = await startBackends(t, ['b1', 'b2']);
  const term = await launch(t, backends.map((backend) => ({ backend })));
  for (const b of backends) await term.waitFor(row(b.name, 'healthy'), `${b.name} healthy`);
  term.keys('/');
  await term.waitFor(/filter log:/, 'the filter input');
  term.type('backend:b1');
  term.keys('Enter');
  await term.waitFor(/filter backend:b1 \(\d+ of \d+ lines/, 'the pane says what it filters');
  await send(t, term.port, 6);
  const screen = await term.waitFor(/GET \/ 200 b1 /, 'b1 requests in the filtered pane');
  t.notRegex(screen, /GET \/ 200 b2 /, 'b2 lines are filtered out');
  // Still alive: keys still work after the filter (an effect returning a value used to kill the UI).
  term.keys('q');
  await term.waitFor(/stop velo\?/, 'the quit question');
  term.keys('y');
  t.is(await term.exitCode(), 0);
});
