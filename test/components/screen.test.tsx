/**
 * What the dashboard draws: states as words, the help overlay from the keymap, a long list
 * that scrolls within the terminal's height, columns dropped (not wrapped) on a narrow terminal.
 */
import test from 'ava';
import { KEYMAP } from '../../components/keymap.js';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import { KEYS, backend, backends, mountOnFakeTty, renderDashboard, snapshot } from './render-helper.js';

test('each backend state is written as a word in its row, with circuit, weight and counts', async (t) => {
  const ui = await renderDashboard(
    snapshot([
      {
        backends: [
          backend('up', 9001, { weight: 7, requests: 4321 }),
          backend('sick', 9002, { state: 'unhealthy', health: 'unhealthy' }),
          backend('leaving', 9003, { state: 'draining', draining: true, inFlight: 2 }),
          backend('broken', 9004, { state: 'down', circuit: 'open', failures: 17 }),
        ],
      },
    ]),
    { columns: 140 },
  );
  const row = (name: string): string => ui.lines().find((l) => l.startsWith(`  ${name} `) || l.startsWith(`› ${name} `)) ?? '';
  t.regex(row('up'), /healthy\s+closed.*4321\s+0\s+7 http:\/\/127\.0\.0\.1:9001$/, 'named backends also show their URL on a wide terminal');
  t.regex(row('sick'), /unhealthy/);
  t.regex(row('leaving'), /draining\s+closed\s+2 /);
  t.regex(row('broken'), /down\s+open.*17\s+1 /);
  t.regex(ui.frame(), /1\/4 available/);
});

test('the header names version, address, pool, strategy, uptime, req/s and error rate', async (t) => {
  const ui = await renderDashboard(snapshot([{ strategy: 'ip-hash', backends: backends(2) }]), { columns: 200 });
  t.regex(ui.lines()[0]!, /velo 9\.9\.9 │ listening http:\/\/127\.0\.0\.1:8080 │ pool default │ strategy ip-hash │ up 1m05s │ 12 req\/s │ 1\.0% errors/);
});

test('the header says when the listener offers HTTP/2 (h2 by ALPN, or h2c)', async (t) => {
  const base = snapshot([{ backends: backends(1) }]);
  const tls = await renderDashboard({ ...base, listen: { ...base.listen, tls: true, http2: 'h2' } }, { columns: 200 });
  t.regex(tls.lines()[0]!, /listening https:\/\/127\.0\.0\.1:8080 \+h2 │/);
  const h2c = await renderDashboard({ ...base, listen: { ...base.listen, http2: 'h2c' } }, { columns: 200 });
  t.regex(h2c.lines()[0]!, /listening http:\/\/127\.0\.0\.1:8080 \+h2c │/);
});

test('the header\'s req/s and error rate cover the last seconds, not one tick', async (t) => {
  const first = snapshot([{ backends: backends(2) }]);
  const ui = await renderDashboard(first, { columns: 200 });
  const later = (ms: number, requests: number, failed: number, tickRps: number, tickErrors: number) => ({
    ...first,
    takenAt: first.takenAt + ms,
    totals: { ...first.totals, requests, failed, rps: tickRps, errorRate: tickErrors },
  });
  ui.store.set(later(1000, 1040, 12, 80, 0));
  ui.store.set(later(2000, 1100, 15, 0, 1));
  await ui.waitFor(/50 req\/s │ 5\.0% errors/, '100 requests, 5 failed, in 2 s');
  t.pass();
});

test('? opens a help overlay listing every key of the keymap table; ? closes it', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: backends(3) }]), { columns: 200, rows: 50 });
  await ui.press('?');
  const help = await ui.waitFor(/keys \(press \?, Esc or q to close\)/);
  for (const binding of KEYMAP) {
    t.true(help.includes(`${binding.display} `), `key ${binding.display}`);
    t.true(help.includes(binding.label), `label "${binding.label}"`);
  }
  for (const [i, name] of STRATEGY_NAMES.entries()) t.true(help.includes(`${i + 1} ${name}`), name);
  await ui.press('d');
  t.is(ui.control.calls.length, 0, 'table keys are inactive under the overlay');
  await ui.press('?');
  await ui.waitFor(/› b1 /);
});

test('40 backends in 24 rows: the selection stays visible and the frame fills the terminal exactly', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: backends(40) }]), { columns: 100, rows: 24 });
  t.is(ui.lines().length, 24);
  t.regex(ui.frame(), /↓ \d+ more below · 40 backends/);
  for (let i = 0; i < 30; i++) await ui.press('j');
  const frame = await ui.waitFor(/› b31 /);
  t.is(ui.lines().length, 24);
  t.notRegex(frame, / b1 /, 'scrolled past the top');
  t.regex(frame, /↑ \d+ more above/);
  for (let i = 0; i < 20; i++) await ui.press(KEYS.down);
  await ui.waitFor(/› b40 /);
  t.is(ui.lines().length, 24);
});

test('a tall list in a short terminal draws exactly its rows, whatever is open', async (t) => {
  for (const rows of [12, 16, 24]) {
    const ui = await renderDashboard(snapshot([{ backends: backends(40) }]), { columns: 80, rows, title: ['title one', 'title two'] });
    for (const keys of [[], ['l'], ['a'], [KEYS.escape, 'x'], ['n', '?']]) {
      await ui.press(...keys);
      await new Promise((r) => setTimeout(r, 20));
      t.is(ui.lines().length, rows, `rows ${rows} after ${JSON.stringify(keys)}`);
    }
    ui.unmount();
  }
});

test('at 60 columns whole columns are dropped and no line is wider than the terminal', async (t) => {
  const wide = await renderDashboard(snapshot([{ backends: backends(3) }]), { columns: 160 });
  const wideHeading = wide.lines().find((l) => l.includes('backend') && l.includes('state'))!;
  for (const title of ['circuit', 'inflight', 'p50ms', 'p99ms', 'requests', 'errors', 'weight']) t.true(wideHeading.includes(title), title);
  const narrow = await renderDashboard(snapshot([{ backends: backends(3) }]), { columns: 60 });
  const heading = narrow.lines().find((l) => l.includes('backend') && l.includes('state'))!;
  t.true(heading.includes('req/s') && heading.includes('weight'), heading);
  t.false(heading.includes('circuit') || heading.includes('p50ms'), heading);
  t.true(narrow.lines().every((l) => l.length <= 60), narrow.lines().filter((l) => l.length > 60).join('\n'));
  t.regex(narrow.frame(), /› b1\s+healthy/, 'name and state are kept');
});

test('a resize re-lays the frame: wider shows more columns, shorter shows fewer lines, always the whole terminal', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: backends(12) }]), { columns: 60, rows: 40 });
  t.notRegex(ui.frame(), /p50ms/);
  await ui.resize(160, 40);
  t.regex(ui.frame(), /p50ms/);
  t.is(ui.lines().length, 40);
  await ui.resize(160, 14);
  t.is(ui.lines().length, 14);
});

test('mounted as velo mounts it, the dashboard stays up after a stop until it is unmounted', async (t) => {
  const app = mountOnFakeTty(snapshot([{ backends: backends(2) }]));
  for (const key of ['q', 'y', KEYS.ctrlC]) {
    await new Promise((r) => setImmediate(r));
    app.type(key);
  }
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(app.control.calls.map((c) => c.args[0]), ['q', 'ctrl-c']);
  let exited = false;
  void app.exited.then(() => (exited = true));
  await new Promise((r) => setTimeout(r, 50));
  t.false(exited, 'still mounted: velo unmounts it once stopped');
  app.unmount();
  await t.notThrowsAsync(app.exited);
});
