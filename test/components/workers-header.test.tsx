/**
 * With `--workers N` the header says how many processes forward and how many were restarted
 * after dying (issue 11: "a worker that dies is restarted and the event shown"); in one process
 * it says nothing about workers.
 */
import test from 'ava';
import { backend, renderDashboard, snapshot } from './render-helper.js';

const WORKERS = (count: number, restarts: number) => ({ count, restarts, list: [] });

test('the header shows the worker count, and restarts once there are any', async (t) => {
  const s = snapshot([{ backends: [backend('api', 9001)] }]);
  const ui = await renderDashboard({ ...s, workers: WORKERS(4, 0) }, { columns: 160 });
  t.true(ui.lines().some((l) => /│ 4 workers │/.test(l)), ui.lines().slice(0, 3).join('\n'));
  const restarted = await renderDashboard({ ...s, workers: WORKERS(4, 2) }, { columns: 160 });
  t.true(restarted.lines().some((l) => l.includes('4 workers, 2 restarted')));
});

test('in one process the header says nothing about workers', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: [backend('api', 9001)] }]), { columns: 160 });
  t.false(ui.lines().some((l) => l.includes('workers')));
});
