/**
 * The dashboard's other screens and keys: the strategy picker, moving in long lists, editing
 * the inputs, test requests, the event view, NO_COLOR, long names, and every terminal size
 * filled exactly.
 */
import test from 'ava';
import chalk from 'chalk';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import type { EngineEvent } from '../../src/metrics/event-log.js';
import { KEYS, backend, backends, renderDashboard, snapshot } from './render-helper.js';

// Colours are drawn only when chalk thinks the terminal has them; the NO_COLOR test needs them on.
chalk.level = 1;

const three = () => snapshot([{ backends: backends(3) }]);

test('s opens a picker: moving applies nothing, Enter applies the one chosen, Esc leaves it unchanged', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('s');
  await ui.waitFor(/strategy for pool default: ↑↓ choose, Enter applies, Esc leaves it round-robin/);
  // The list starts listening for keys just after it is first drawn.
  await new Promise((r) => setTimeout(r, 50));
  for (const [i, name] of STRATEGY_NAMES.entries()) t.regex(ui.frame(), new RegExp(`${i + 1} ${name}`));
  await ui.press(KEYS.down, KEYS.down);
  await ui.waitFor(/❯ 3 least-connections/);
  t.is(ui.control.calls.length, 0, 'moving through the list applies nothing');
  await ui.press(KEYS.enter);
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'setStrategy', args: ['default', 'least-connections', 'dashboard'] });
  await ui.waitFor((f) => !f.includes('strategy for pool'), 'the picker closes');
  await ui.press('s', KEYS.down, KEYS.escape);
  await ui.waitFor(/✓ strategy unchanged: round-robin/);
  t.is(ui.control.calls.length, 1, 'Esc applies nothing');
});

test('Home/End, g/G and PgUp/PgDn move in a long backend list', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: backends(60) }]), { columns: 100, rows: 24 });
  await ui.press('G');
  await ui.waitFor(/› b60 /);
  await ui.press('g');
  await ui.waitFor(/› b1 /);
  await ui.press(KEYS.end);
  await ui.waitFor(/› b60 /);
  await ui.press(KEYS.home);
  await ui.waitFor(/› b1 /);
  await ui.press(KEYS.pageDown);
  const paged = await ui.waitFor((f) => !/› b1 /.test(f), 'a page down');
  const at = Number(/› b(\d+) /.exec(paged)![1]);
  t.true(at > 3, `PgDn moved to b${at}`);
  await ui.press(KEYS.pageDown, KEYS.pageUp);
  await ui.waitFor(new RegExp(`› b${at} `), 'PgUp moves back a page');
});

test('the add input has a cursor: left/right move it, typing inserts there, Ctrl-W and Ctrl-U delete', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('a', 'http://127.0.0.1:9004 7');
  await ui.press(KEYS.ctrlW);
  await ui.waitFor(/\(URL \[weight\]\): http:\/\/127\.0\.0\.1:9004 (?!7)/, 'Ctrl-W deletes the word before the cursor');
  await ui.press(KEYS.left, KEYS.left, KEYS.left, KEYS.left, KEYS.left, '5');
  await ui.waitFor(/http:\/\/127\.0\.0\.1:59004/, 'typed at the cursor, not at the end');
  await ui.press(KEYS.right, KEYS.backspace);
  await ui.waitFor(/http:\/\/127\.0\.0\.1:5004/, 'Backspace deletes before the cursor');
  await ui.press(KEYS.ctrlU);
  await ui.waitFor(/\(URL \[weight\]\): 004/, 'Ctrl-U deletes to the start');
  await ui.press(KEYS.end, KEYS.ctrlU, 'http://10.0.0.9:80', KEYS.enter);
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['default', { url: 'http://10.0.0.9:80', weight: undefined }, 'dashboard']);
});

test('t sends 100 test requests (or the number typed) and shows where they went, codes and p50/p99', async (t) => {
  const ui = await renderDashboard(three(), { columns: 160 });
  ui.control.testResult = {
    sent: 100,
    success: 98,
    fails: 2,
    elapsedMs: 420,
    backends: [['b1', 34], ['b2', 33], ['b3', 31]],
    codes: [[200, 98], [502, 2]],
    errors: [],
    p50Ms: 3.1,
    p99Ms: 9.8,
  };
  await ui.press('t');
  await ui.waitFor(/test requests to send through velo: 100/);
  await ui.press(KEYS.enter);
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'sendTestRequests', args: [100, 'default'] });
  await ui.waitFor(/✓ 100 test requests in 0\.4s │ b1 34 · b2 33 · b3 31 │ 200×98 502×2 │ p50 3\.1ms · p99 9\.8ms/);
  await ui.press('t', KEYS.ctrlU, '25', KEYS.enter);
  t.deepEqual((await ui.waitForCalls(2))[1], { method: 'sendTestRequests', args: [25, 'default'] });
  await ui.press('t', KEYS.ctrlU, 'lots', KEYS.enter);
  await ui.waitFor(/✗ type a whole number from 1 to 100000, got "lots"/);
  t.is(ui.control.calls.length, 2);
});

const rejected: EngineEvent = {
  seq: 7,
  at: 1_000_000,
  kind: 'reload',
  level: 'error',
  message: 'reload rejected, old config kept: 3 problems in velo.yaml',
  detail: [
    '3 problems in velo.yaml:',
    '  listen.port (3:9): must be a port number 0..65535, got 99999',
    '  pools[0].strategy (7:13): unknown strategy "fastest"',
    '  pools[1].backends[2].weight (19:21): must be a whole number from 1 to 1000, got 0',
  ].join('\n'),
};

test('e opens the events whole: a rejected reload shows every problem with line:column', async (t) => {
  const events: EngineEvent[] = [{ seq: 1, at: 999_000, kind: 'admin', level: 'info', message: 'draining b2 (0 in flight) [dashboard]' }, rejected];
  const ui = await renderDashboard(snapshot([{ backends: backends(3) }], events), { columns: 80, rows: 30 });
  t.notRegex(ui.frame(), /19:21/, 'the pane shows one line per event');
  await ui.press('e');
  const view = await ui.waitFor(/events 2\/2/);
  for (const where of ['(3:9)', '(7:13)', '(19:21)']) t.true(view.includes(where), where);
  t.is(ui.lines().length, 30);
  await ui.press(KEYS.up);
  await ui.waitFor(/events 1\/2/);
  await ui.press(KEYS.escape);
  await ui.waitFor(/› b1 /);
  await ui.press(KEYS.enter);
  await ui.waitFor(/events 2\/2/, 'Enter opens them too');
});

test('NO_COLOR: no colour codes at all, and the state words still say it', async (t) => {
  const s = snapshot([{ backends: [backend('up', 9001), backend('sick', 9002, { state: 'unhealthy', health: 'unhealthy' }), backend('gone', 9003, { state: 'down', circuit: 'open' })] }]);
  const colored = await renderDashboard(s, { columns: 140 });
  t.regex(colored.rawFrame(), /\u001B\[3\dm/, 'colours are drawn without NO_COLOR');
  colored.unmount();
  const plain = await renderDashboard(s, { columns: 140, color: false });
  t.notRegex(plain.rawFrame(), /\u001B\[(3\d|9\d|4\d|10\d)m/, 'no foreground or background colour');
  t.regex(plain.frame(), /up\s+healthy/);
  t.regex(plain.frame(), /sick\s+unhealthy/);
  t.regex(plain.frame(), /gone\s+down\s+open/);
  await plain.press('s');
  await plain.waitFor(/❯ 1 round-robin/);
  t.notRegex(plain.rawFrame(), /\u001B\[(3\d|9\d)m/, 'the picker too');
});

test('long backend names are shortened in the middle and stay distinguishable; the URL column stays while it fits', async (t) => {
  const names = ['payments-service-eu-west-1a', 'payments-service-eu-west-1b', 'payments-service-eu-west-1c'];
  const s = snapshot([{ backends: names.map((n, i) => backend(n, 9001 + i, { url: `http://10.1.2.${i + 1}:8080` })) }]);
  const ui = await renderDashboard(s, { columns: 120 });
  const rows = ui.lines().filter((l) => /payments-/.test(l));
  t.is(rows.length, 3);
  t.true(rows.every((r) => /payments-se.*…/.test(r)), rows.join('\n'));
  t.deepEqual(rows.map((r) => /…\S*(1[abc])\b/.exec(r)?.[1]), ['1a', '1b', '1c'], 'the ends that differ are kept');
  t.true(rows.every((r) => /\b10\.1\.2\.\d:8080\s*$/.test(r)), `the URL column is there (shortened in the middle if it must):\n${rows.join('\n')}`);
});

const SIZES: ReadonlyArray<readonly [number, number]> = [
  [60, 20],
  [80, 24],
  [100, 30],
  [120, 40],
  [160, 50],
  [250, 70],
];

for (const [columns, rows] of SIZES) {
  // Serial: eight renders each, which would starve the key tests above of the event loop.
  test.serial(`${columns}x${rows}: the frame fills the terminal, no line wraps, the key bar is on the last line`, async (t) => {
    // A fresh dashboard per screen: a lone Esc followed at once by a letter would read as Alt+letter.
    for (const keys of [[], ['l'], ['s'], ['a'], ['?'], ['e'], ['t'], ['q']]) {
      const ui = await renderDashboard(snapshot([{ backends: backends(5) }]), { columns, rows, title: ['velo demo: 5 backends', 'try: d drain, s strategy'] });
      await ui.press(...keys);
      await new Promise((r) => setTimeout(r, 30));
      const lines = ui.lines();
      const what = `${columns}x${rows} after ${JSON.stringify(keys)}`;
      t.is(lines.length, rows, what);
      t.true(lines.every((l) => l.length <= columns), `${what}: ${lines.find((l) => l.length > columns)}`);
      t.regex(lines[rows - 1]!, /\b(quit|cancel|close help|back|unchanged|send|add|keep running)\b/, `${what}: key bar last`);
      if (rows >= 40 && keys.length === 0) t.true(lines.some((l) => /req\/s, 1 s average/.test(l)), `the chart is there:\n${ui.frame()}`);
      ui.unmount();
    }
  });
}
