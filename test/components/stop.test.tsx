/**
 * Stopping velo from the dashboard: q asks first, y stops, the drain is shown (in-flight count
 * falling, time left of shutdown_timeout, what the next Ctrl-C does) until velo unmounts it.
 */
import test from 'ava';
import type { EngineSnapshot } from '../../src/metrics/snapshot.js';
import { FakeDrain, KEYS, backend, backends, renderDashboard, snapshot } from './render-helper.js';

const busy = (inFlight: number, tunnels = 0): EngineSnapshot => {
  const s = snapshot([{ backends: [backend('b1', 9001, { inFlight: inFlight + tunnels, tunnels }), backend('b2', 9002)] }]);
  return { ...s, totals: { ...s.totals, inFlight: inFlight + tunnels } };
};

test('q asks "stop velo? N requests in flight, M connections  y/N"; n, Esc and Enter keep running', async (t) => {
  const ui = await renderDashboard(busy(3, 1));
  await ui.press('q');
  await ui.waitFor(/stop velo\? 3 requests in flight, 1 WebSocket connection {2}y\/N/);
  t.is(ui.control.calls.length, 0, 'nothing stops before the answer');
  for (const key of ['n', KEYS.escape, KEYS.enter]) {
    await ui.press(key);
    await ui.waitFor((f) => !f.includes('stop velo?'), `${JSON.stringify(key)} closes the question`);
    await ui.press('q');
    await ui.waitFor(/stop velo\?/);
  }
  t.is(ui.control.calls.length, 0);
  await ui.press('y');
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'stop', args: ['q'] });
});

test('Ctrl-C asks nothing: it is a stop request at once, from any screen', async (t) => {
  const ui = await renderDashboard(busy(1));
  await ui.press('a', 'http://x', KEYS.ctrlC);
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'stop', args: ['ctrl-c'] });
});

test('during the drain the screen shows the in-flight count falling and the time left; Ctrl-C goes on counting', async (t) => {
  const drain = new FakeDrain();
  const first = busy(2);
  const ui = await renderDashboard(first, { drain, columns: 140, rows: 30 });
  const began = first.takenAt;
  drain.set({ stops: 1, beganAt: began, deadlineAt: began + 10_000, forced: false });
  ui.store.set({ ...busy(2), shuttingDown: true, takenAt: began + 1_000 });
  await ui.waitFor(/stopping velo: new connections refused, 2 requests in flight; 9s of shutdown_timeout \(10s\) left/);
  t.regex(ui.frame(), /Ctrl-C twice more cuts them \(exit 1\)/);
  t.regex(ui.frame(), /› b1 /, 'the table stays on screen');
  t.is(ui.lines().length, 30);
  ui.store.set({ ...busy(1), shuttingDown: true, takenAt: began + 4_000 });
  await ui.waitFor(/1 request in flight; 6s of shutdown_timeout \(10s\) left/);
  await ui.press('d', 'q', 'x');
  t.is(ui.control.calls.length, 0, 'only the stop keys act while stopping');
  await ui.press(KEYS.ctrlC);
  t.deepEqual((await ui.waitForCalls(1))[0], { method: 'stop', args: ['ctrl-c'] });
  drain.set({ stops: 2, beganAt: began, deadlineAt: began + 10_000, forced: false });
  await ui.waitFor(/Ctrl-C once more cuts 1 request now and velo exits 1/);
  drain.set({ stops: 3, beganAt: began, deadlineAt: began + 10_000, forced: true });
  await ui.waitFor(/cutting 1 request now; velo exits 1/);
});

test('the help documents the stop rule and names the config file and the admin API', async (t) => {
  const s = { ...snapshot([{ backends: backends(2) }]), configSource: '/etc/velo/velo.yaml', admin: { host: '127.0.0.1', port: 9090 } };
  const ui = await renderDashboard(s, { columns: 220, rows: 50 });
  t.regex(ui.lines()[0]!, /config \/etc\/velo\/velo\.yaml │ admin http:\/\/127\.0\.0\.1:9090/, 'the header names both');
  await ui.press('?');
  const help = await ui.waitFor(/config \/etc\/velo\/velo\.yaml · admin API http:\/\/127\.0\.0\.1:9090/);
  t.regex(help, /the second says what a third does; the third cuts them \(exit 1\)/);
  await ui.press('q');
  await ui.waitFor(/› b1 /, 'q closes the help');
  t.is(ui.control.calls.length, 0, 'q in the help does not stop velo');
  await ui.press('?', KEYS.escape);
  await ui.waitFor(/› b1 /, 'Esc closes the help');
});
