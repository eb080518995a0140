/**
 * Each key of the dashboard calls the control with the right arguments for the pool and
 * backend on screen, and its result or error shows on the status line.
 */
import test from 'ava';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import { VeloError } from '../../src/errors.js';
import { FakeLogs, KEYS, backend, backends, eventually, renderDashboard, snapshot } from './render-helper.js';

const three = () => snapshot([{ backends: backends(3) }]);

test('j, k and the arrows move the selection; d drains the selected backend', async (t) => {
  const ui = await renderDashboard(three());
  t.regex(ui.frame(), /› b1 /);
  await ui.press('j');
  await ui.waitFor(/› b2 /);
  await ui.press(KEYS.down, KEYS.down);
  await ui.waitFor(/› b3 /, 'down stops at the last backend');
  await ui.press('k', KEYS.up);
  await ui.waitFor(/› b1 /);
  await ui.press(KEYS.down, 'd');
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'drain', args: ['default', 'http://127.0.0.1:9002', 'dashboard'] });
  await ui.waitFor(/✓ draining b2/);
});

test('keys typed in one burst act in order: "jd" drains the second backend', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('jd');
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['default', 'http://127.0.0.1:9002', 'dashboard']);
});

test('d on a draining backend undrains it', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: [backend('b1', 9001, { state: 'draining', draining: true })] }]));
  await ui.press('d');
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'undrain', args: ['default', 'http://127.0.0.1:9001', 'dashboard'] });
});

test('1-8 pick the strategy at that position; the header shows the pool\'s strategy', async (t) => {
  const ui = await renderDashboard(three());
  t.regex(ui.frame(), /strategy round-robin/);
  await ui.press('3');
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['default', STRATEGY_NAMES[2], 'dashboard']);
  for (const [i, name] of STRATEGY_NAMES.entries()) {
    await ui.press(String(i + 1));
    t.is((await ui.waitForCalls(i + 2))[i + 1]!.args[1], name, `key ${i + 1}`);
  }
  ui.store.set(snapshot([{ strategy: 'least-connections', backends: backends(3) }]));
  await ui.waitFor(/strategy least-connections/);
});

test('+ and - change the selected backend\'s weight by one', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: [backend('b1', 9001, { weight: 3 })] }]));
  await ui.press('+');
  await ui.press('-');
  const calls = await ui.waitForCalls(2);
  t.deepEqual(calls.map((c) => c.args), [
    ['default', 'http://127.0.0.1:9001', 4, 'dashboard'],
    ['default', 'http://127.0.0.1:9001', 2, 'dashboard'],
  ]);
});

test('a control error is shown inline, in words', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: [backend('b1', 9001, { weight: 1 })] }]));
  ui.control.failWith('setWeight', new VeloError('E_BAD_REQUEST', 'weight must be an integer from 1 to 1000, got 0'));
  await ui.press('-');
  await ui.waitFor(/✗ weight must be an integer from 1 to 1000, got 0/);
  t.is(ui.control.calls.length, 1);
});

test('x then y removes the selected backend; x then n keeps it', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('j', 'x');
  await ui.waitFor(/remove b2 \(http:\/\/127\.0\.0\.1:9002\)\?/);
  t.is(ui.control.calls.length, 0, 'nothing happens before the answer');
  await ui.press('y');
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'removeBackend', args: ['default', 'http://127.0.0.1:9002', 'dashboard'] });
  await ui.press('x');
  await ui.waitFor(/remove b2/);
  await ui.press('n');
  await ui.waitFor(/kept b2/);
  await ui.press('x', KEYS.escape);
  await ui.waitFor((f) => !f.includes('remove b2 ('), 'Esc closes the question');
  t.is(ui.control.calls.length, 1, 'n and Esc remove nothing');
});

test('q and d do nothing while the remove question is open', async (t) => {
  const ui = await renderDashboard(three());
  await ui.press('x', 'd', 'q', 's');
  await ui.waitFor(/remove b1/);
  t.is(ui.control.calls.length, 0);
});

test('tab shows the next pool; keys then act on that pool', async (t) => {
  const ui = await renderDashboard(
    snapshot([{ backends: backends(2) }, { name: 'api', strategy: 'least-connections', backends: [backend('api-1', 9101), backend('api-2', 9102)] }]),
  );
  t.regex(ui.frame(), /pool default 1\/2/);
  await ui.press(KEYS.tab);
  await ui.waitFor(/pool api 2\/2/);
  t.regex(ui.frame(), /strategy least-connections/);
  t.regex(ui.frame(), /› api-1 /);
  t.notRegex(ui.frame(), / b1 /);
  await ui.press('j', 'd');
  t.deepEqual((await ui.waitForCalls(1))[0]!.args, ['api', 'http://127.0.0.1:9102', 'dashboard']);
  await ui.press(KEYS.tab);
  await ui.waitFor(/pool default 1\/2/);
});

test('l shows the access-log pane and turns capture on; l again hides it and turns it off', async (t) => {
  const logs = new FakeLogs([{ at: 0, kind: 'access', level: 'info', text: 'GET /products/7 200 b2 4.1ms' }]);
  const ui = await renderDashboard(three(), { logs });
  t.notRegex(ui.frame(), /access log/);
  await ui.press('l');
  await ui.waitFor(/GET \/products\/7 200 b2/);
  t.regex(ui.frame(), /access log/);
  await ui.press('l');
  await ui.waitFor((f) => !f.includes('access log'), 'pane hidden');
  await eventually(() => logs.live.length === 2, 'capture turned off');
  t.deepEqual(logs.live, [true, false]);
});
