/**
 * m puts the selected backend in maintenance or takes it out; w lists the runtime changes,
 * asks, and on y writes them into the config file; n or Esc writes nothing; no changes means
 * no question; every outcome, errors included, shows on the status line.
 */
import test from 'ava';
import { ConfigError, VeloError } from '../../src/errors.js';
import { KEYS, backend, backends, renderDashboard, snapshot } from './render-helper.js';

const FILE = '/etc/velo/velo.yaml';
const withFile = (pool = snapshot([{ name: 'web', backends: backends(3) }])) => ({ ...pool, configSource: FILE });
const CHANGES = ['weight 4 on b2 in pool web', 'maintenance on b1 in pool web'];

test('j then m puts the second backend in maintenance; m on a backend in maintenance takes it out', async (t) => {
  const ui = await renderDashboard(withFile());
  await ui.press('j', 'm');
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'setMaintenance', args: ['web', 'http://127.0.0.1:9002', true, 'dashboard'] });
  await ui.waitFor(/✓ b2 in maintenance: no requests at all, health checks go on/);
  ui.store.set(withFile(snapshot([{ name: 'web', backends: [backend('b1', 9001), backend('b2', 9002, { state: 'maint', maintenance: true })] }])));
  await ui.waitFor(/› b2\s+maint /);
  await ui.press('m');
  t.deepEqual((await ui.waitForCalls(2))[1], { method: 'setMaintenance', args: ['web', 'http://127.0.0.1:9002', false, 'dashboard'] });
  await ui.waitFor(/✓ b2 out of maintenance: it takes requests again/);
});

test('a maintenance error is shown inline; m with no backend says so', async (t) => {
  const ui = await renderDashboard(withFile());
  ui.control.failWith('setMaintenance', new VeloError('E_NOT_FOUND', 'no backend "b1" in pool web'));
  await ui.press('m');
  await ui.waitFor(/✗ no backend "b1" in pool web/);
  const empty = await renderDashboard(withFile(snapshot([{ name: 'web', backends: [] }])));
  await empty.press('m');
  await empty.waitFor(/✗ no backend selected/);
  t.is(empty.control.calls.length, 0);
});

test('w lists the changes and asks; nothing is written before y; y saves and names the file', async (t) => {
  const ui = await renderDashboard(withFile());
  ui.control.changes = CHANGES;
  await ui.press('w');
  const question = await ui.waitFor(/write 2 runtime changes into \/etc\/velo\/velo\.yaml\? y = write, n = cancel/);
  t.regex(question, /^ {2}weight 4 on b2 in pool web$/m);
  t.regex(question, /^ {2}maintenance on b1 in pool web$/m);
  t.regex(question, /y write\s+n cancel/, 'the key bar has the question\'s keys');
  t.deepEqual(ui.control.calls.map((c) => c.method), ['configDiff']);
  await ui.press('d');
  t.deepEqual(ui.control.calls.map((c) => c.method), ['configDiff'], 'the table keys wait for the answer');
  await ui.press('y');
  t.deepEqual((await ui.waitForCalls(2))[1], { method: 'saveConfig', args: ['dashboard'] });
  const done = await ui.waitFor(/✓ saved 2 runtime changes into \/etc\/velo\/velo\.yaml, its comments kept/);
  t.notRegex(done, /weight 4 on b2/, 'the question is gone');
});

test('w lists as many changes as fit, then +N more', async (t) => {
  const ui = await renderDashboard(withFile(), { rows: 30 });
  ui.control.changes = Array.from({ length: 12 }, (_, i) => `weight ${i + 2} on b${i + 1} in pool web`);
  await ui.press('w');
  const question = await ui.waitFor(/write 12 runtime changes into/);
  t.regex(question, /^ {2}weight 2 on b1 in pool web$/m);
  const listed = question.split('\n').filter((l) => /^ {2}weight \d+ on b\d+ in pool web$/.test(l)).length;
  t.true(listed >= 1 && listed < 12, `${listed} listed`);
  t.regex(question, new RegExp(`^ {2}\\+${12 - listed} more$`, 'm'));
  t.is(ui.lines().length, 30, 'the frame still fills the terminal exactly');
});

test('w then n, and w then Esc, write nothing', async (t) => {
  const ui = await renderDashboard(withFile());
  ui.control.changes = CHANGES;
  await ui.press('w');
  await ui.waitFor(/write 2 runtime changes/);
  await ui.press('n');
  await ui.waitFor(/✓ nothing written: the runtime changes stay out of \/etc\/velo\/velo\.yaml/);
  await ui.press('w');
  await ui.waitFor(/write 2 runtime changes/);
  await ui.press(KEYS.escape);
  await ui.waitFor((f) => !f.includes('write 2 runtime changes'), 'Esc closes the question');
  t.deepEqual(ui.control.calls.map((c) => c.method), ['configDiff', 'configDiff']);
});

test('w without runtime changes says so and asks nothing', async (t) => {
  const ui = await renderDashboard(withFile());
  await ui.press('w');
  await ui.waitFor(/✓ no runtime changes to save: \/etc\/velo\/velo\.yaml holds the running config/);
  t.notRegex(ui.frame(), /y = write/);
  await ui.press('y');
  t.deepEqual(ui.control.calls.map((c) => c.method), ['configDiff']);
});

for (const [what, err, shown] of [
  ['no config file', new VeloError('E_BAD_REQUEST', 'nothing to save to: this instance was started without a config file'), /✗ not saved: nothing to save to: this instance was started without a config file/],
  [
    'the file changed under velo',
    new VeloError('E_CONFLICT', `${FILE} no longer says what the weight 4 on b2 in pool web was based on (edited since velo loaded it, or set by a flag or the environment); run velo reload first`),
    /✗ not saved: \/etc\/velo\/velo\.yaml no longer says what the weight 4 on b2/,
  ],
  [
    'the result would not validate',
    new ConfigError([{ path: 'pools.web.backends.1.weight', message: 'must be at most 1000', line: 7, column: 15 }], FILE),
    /✗ not saved: 1 problem in \/etc\/velo\/velo\.yaml: \/etc\/velo\/velo\.yaml:7:15 pools\.web\.backends\.1\.weight: must be at most 1000/,
  ],
] as const) {
  test(`a failed save says why on the status line: ${what}`, async (t) => {
    const ui = await renderDashboard(withFile(), { columns: 200 });
    ui.control.changes = CHANGES;
    ui.control.failWith('saveConfig', err);
    await ui.press('w');
    await ui.waitFor(/write 2 runtime changes/);
    await ui.press('y');
    await ui.waitFor(shown);
    t.is(ui.control.calls.at(-1)!.method, 'saveConfig');
  });
}

test('at 120 columns the key bar has w save and still every other hint', async (t) => {
  const ui = await renderDashboard(withFile(), { columns: 120 });
  const bar = ui.lines().at(-1)!;
  for (const hint of ['d drain', 'w save', 'e events', 'tab pool', 'l log', '? help', 'q quit']) t.true(bar.includes(hint), `${hint} in: ${bar}`);
});

test('the help lists m and w, and the save question\'s keys', async (t) => {
  const ui = await renderDashboard(withFile(), { columns: 200, rows: 50 });
  await ui.press('?');
  const help = await ui.waitFor(/keys \(press \?, Esc or q to close\)/);
  t.regex(help, /^ {2}m {15}put the selected backend in maintenance/m);
  t.regex(help, /^ {2}w {15}write the runtime changes into the config file/m);
  t.regex(help, /saving to the config file \(w\): y write the changes into the config file · n \/ Esc write nothing/);
});

test('w without a config file says so, and what to do, before listing or asking anything', async (t) => {
  const ui = await renderDashboard(snapshot([{ name: 'web', backends: backends(2) }]));
  ui.control.changes = CHANGES;
  await ui.press('w');
  await ui.waitFor(/✗ no config file to save into: velo was started without one/);
  t.deepEqual(ui.control.calls, []);
});

test('m taking a draining backend out of maintenance says it is still draining', async (t) => {
  const ui = await renderDashboard(withFile(snapshot([{ name: 'web', backends: [backend('b1', 9001, { state: 'maint', maintenance: true, draining: true })] }])));
  await ui.press('m');
  await ui.waitForCalls(1);
  await ui.waitFor(/✓ b1 out of maintenance, still draining: d undrains it/);
  t.pass();
});
