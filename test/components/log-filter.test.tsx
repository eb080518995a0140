/**
 * The log pane's filter: `/` opens an input under the pane (showing the pane if hidden), Enter
 * applies a valid filter, an invalid one shows why and keeps the old filter, Esc clears it, and
 * the help overlay lists `/` and the filter input's keys.
 */
import test from 'ava';
import type { LogEntry } from '../../components/store.js';
import { formatRecordFilter, type FilterableRecord, type RecordFilter } from '../../src/metrics/record-filter.js';
import { FakeLogs, KEYS, backends, eventually, renderDashboard, snapshot } from './render-helper.js';

function access(path: string, status: number, backendName: string, extra: Partial<FilterableRecord> = {}): LogEntry {
  const record: FilterableRecord = {
    status,
    backend: `http://127.0.0.1:${backendName === 'b1' ? 9001 : 9002}`,
    backendName,
    pool: 'default',
    method: 'GET',
    path,
    termination: '-',
    totalMs: 4,
    clientIp: '10.0.0.1',
    ...extra,
  };
  return { at: 0, kind: 'access', level: status >= 500 ? 'error' : 'info', text: `GET ${path} ${status} ${backendName} 4.0ms`, record };
}

const ENTRIES: LogEntry[] = [
  access('/one', 200, 'b1'),
  access('/two', 502, 'b2', { termination: 'UC' }),
  access('/three', 503, 'b1'),
  access('/api/four', 200, 'b2', { totalMs: 900 }),
  { at: 0, kind: 'log', level: 'warn', text: 'b1 is now unhealthy' },
];

const lineOf = (path: string) => new RegExp(`GET ${path.replace('/', '\\/')} `);

/** A log store that also records the filters the pane hands it (the ring's `setFilter`). */
class FilteringLogs extends FakeLogs {
  readonly filters: Array<string | undefined> = [];
  readonly setFilter = (filter: RecordFilter | undefined): void => void this.filters.push(filter === undefined ? undefined : formatRecordFilter(filter));
}

async function dashboard(columns = 100, rows = 40) {
  const logs = new FilteringLogs(ENTRIES);
  const ui = await renderDashboard(snapshot([{ backends: backends(2) }]), { logs, columns, rows });
  return { ui, logs };
}

test('/ shows the hidden log pane with an input; Enter applies status:5xx backend:b2 and the pane shows only matching requests', async (t) => {
  const { ui, logs } = await dashboard();
  t.notRegex(ui.frame(), /access log/);
  await ui.press('/');
  await ui.waitFor(/filter log:/);
  t.regex(ui.frame(), /access log/);
  await eventually(() => logs.live.length > 0, 'capture turned on');
  t.deepEqual(logs.live, [true]);
  t.regex(ui.frame(), /e\.g\. status:5xx backend:b2/, 'the hint shows an example');
  await ui.press('status:5xx backend:b2', KEYS.enter);
  await ui.waitFor(/filter status:5xx backend:b2 \(1 of 5 lines/);
  const frame = ui.frame();
  t.regex(frame, lineOf('/two'));
  for (const other of ['/one', '/three', '/api/four']) t.notRegex(frame, lineOf(other));
  t.notRegex(frame, /b1 is now unhealthy/, 'velo\'s own lines are hidden while filtering');
  t.notRegex(frame, /filter log: /, 'the input closed');
  t.regex(frame, /log filter: status:5xx backend:b2/, 'the status line says what is applied');
  await eventually(() => logs.filters.at(-1) === 'status:5xx backend:b2', 'the ring told to keep matching requests');
  await ui.press('/', KEYS.escape);
  await ui.waitFor(/log filter cleared/);
  await eventually(() => logs.filters.at(-1) === undefined && logs.filters.length > 1, 'the ring is told to keep everything again');
  t.pass();
});

test('an invalid term shows a clear error under the input and keeps the old filter', async (t) => {
  const { ui } = await dashboard();
  await ui.press('/', 'path:/api/*', KEYS.enter);
  await ui.waitFor(/filter path:\/api\/\* \(1 of 5 lines/);
  await ui.press('/');
  await ui.waitFor(/filter log: path:\/api\/\*/, 'the input starts from the applied filter');
  await ui.press(KEYS.ctrlU, 'status:6xx', KEYS.enter);
  await ui.waitFor(/✗ "6xx" is not valid for status:; expected a class such as 5xx or a code such as 502/);
  t.regex(ui.frame(), /filter log: status:6xx/, 'the input stays open with the text');
  t.regex(ui.frame(), /filter path:\/api\/\* \(1 of 5 lines/, 'the old filter still applies');
  t.regex(ui.frame(), lineOf('/api/four'));
  await ui.press('x');
  await ui.waitFor((f) => !f.includes('✗'), 'typing clears the error');
  await ui.press(KEYS.ctrlU, 'colour:red', KEYS.enter);
  await ui.waitFor(/✗ unknown key "colour" in "colour:red"; keys: status/);
});

test('Esc clears the filter; Enter on an empty input clears it too', async (t) => {
  const { ui } = await dashboard();
  await ui.press('/', 'flag:UC', KEYS.enter);
  await ui.waitFor(/filter flag:UC \(1 of 5 lines/);
  await ui.press('/');
  await ui.waitFor(/filter log:/);
  await ui.press(KEYS.escape);
  await ui.waitFor(/log filter cleared/);
  for (const path of ['/one', '/two', '/three', '/api/four']) t.regex(ui.frame(), lineOf(path));
  t.regex(ui.frame(), /b1 is now unhealthy/);
  await ui.press('/', 'slower:500ms', KEYS.enter);
  await ui.waitFor(/filter slower:500ms \(1 of 5 lines/);
  await ui.press('/', KEYS.ctrlU, KEYS.enter);
  await ui.waitFor(/log filter cleared/);
  t.regex(ui.frame(), lineOf('/one'));
});

test('a filter nothing matches says so instead of showing an empty pane', async (t) => {
  const { ui } = await dashboard();
  await ui.press('/', 'method:DELETE', KEYS.enter);
  await ui.waitFor(/filter method:DELETE \(0 of 5 lines/);
  t.regex(ui.frame(), /no recent request matches the filter/);
});

test('keys typed in the filter input are text, not dashboard keys', async (t) => {
  const { ui } = await dashboard();
  await ui.press('/', 'pool:default', 'q', 'd');
  await ui.waitFor(/filter log: pool:defaultqd/);
  t.is(ui.control.calls.length, 0, 'd did not drain, q did not ask to quit');
  t.notRegex(ui.frame(), /stop velo\?/i);
});

test('the help overlay lists / and the filter input\'s keys, from the keymap', async (t) => {
  const { ui } = await dashboard(200, 80);
  await ui.press('?');
  const frame = await ui.waitFor(/keys \(press \?/);
  t.regex(frame, /\/\s+filter the access log \(and show it\)/);
  t.regex(frame, /filtering the access log \(\/\): Enter apply the filter/);
  t.regex(frame, /Esc clear the filter/);
});
