/** The pure parts of the layout: columns that fit, rows shared out, charts that never throw or overflow. */
import test from 'ava';
import { ROW_PREFIX, fitColumns, shortNames, shortenMiddle } from '../../components/columns.js';
import { chartLines } from '../../components/Header.js';
import { planLayout, scrollStart } from '../../components/layout.js';
import { movingAverage, sparkline } from '../../components/sparkline.js';

test('fitColumns: rows never exceed the width, drop whole columns, and always keep name and state', (t) => {
  for (let width = 30; width <= 260; width += 7) {
    const columns = fitColumns(width, 12, 22);
    const used = ROW_PREFIX + columns.reduce((n, c) => n + c.width, 0) + columns.length - 1;
    t.true(used <= width, `width ${width}: ${used}`);
    t.true(columns.some((c) => c.id === 'name') && columns.some((c) => c.id === 'state'), `width ${width}`);
  }
  t.deepEqual(
    fitColumns(60, 4).map((c) => c.id),
    ['name', 'state', 'inFlight', 'rps', 'p99', 'errors', 'weight'],
  );
  t.true(fitColumns(200, 4, 22).some((c) => c.id === 'url'));
  t.false(fitColumns(200, 4, 0).some((c) => c.id === 'url'), 'no URL column when names are the URLs');
});

test('planLayout: the parts add up to exactly the terminal, for every size and list length', (t) => {
  for (const rows of [8, 12, 20, 24, 40, 50, 70, 80]) {
    for (const backends of [0, 1, 3, 12, 40, 200]) {
      for (const logsVisible of [false, true]) {
        const fixedLines = 6;
        const p = planLayout({ rows, fixedLines, backends, logsVisible });
        const total = fixedLines + p.chartLines + p.tableLines + p.eventLines + p.logLines;
        t.is(total, rows, `${rows} rows, ${backends} backends`);
        t.true(p.tableLines >= Math.min(1, rows - 1 - fixedLines));
        if (!logsVisible) t.is(p.logLines, 0);
      }
    }
  }
  t.deepEqual(planLayout({ rows: 24, fixedLines: 6, backends: 3, logsVisible: false }), { chartLines: 6, tableLines: 3, eventLines: 9, logLines: 0 });
});

test('planLayout: the chart is taller when there is room, and the event pane takes the rest', (t) => {
  const small = planLayout({ rows: 20, fixedLines: 6, backends: 3, logsVisible: false });
  const tall = planLayout({ rows: 70, fixedLines: 6, backends: 3, logsVisible: false });
  t.true(tall.chartLines >= 15, `${tall.chartLines} chart lines at 70 rows`);
  t.true(tall.chartLines > small.chartLines);
  t.is(tall.eventLines, 70 - 6 - tall.chartLines - 3);
});

test('scrollStart keeps the selection inside the window', (t) => {
  for (let selected = 0; selected < 40; selected++) {
    const start = scrollStart(40, 9, selected);
    t.true(start <= selected && selected < start + 9 && start >= 0 && start <= 31, `selected ${selected}: start ${start}`);
  }
  t.is(scrollStart(5, 9, 4), 0);
});

test('shortenMiddle keeps the start and the end: payments-se…-1a', (t) => {
  t.is(shortenMiddle('payments-service-eu-west-1a', 15), 'payments-se…-1a');
  t.is(shortenMiddle('short', 15), 'short');
  const names = ['payments-service-eu-west-1a', 'payments-service-eu-west-1b', 'payments-service-us-east-12'];
  const short = shortNames(names, 15);
  t.is(new Set(short).size, 3, short.join(', '));
  t.true(short.every((n) => n.length <= 15));
  const tricky = ['orders-api-canary-blue-7', 'orders-api-canary-gree-7'];
  t.is(new Set(shortNames(tricky, 12)).size, 2, 'the tail grows until names that differ near the end stay apart');
});

test('chart axis labels are never -0, and the chart spans the whole width', (t) => {
  for (const series of [[0, 9.9, 2.97, 0], [0, 0.2, 0.1, 0], [3, 0, 0, 0], Array.from({ length: 60 }, (_, i) => (i % 7) / 10)]) {
    for (const lines of [4, 6, 9, 14, 15, 16]) {
      const out = chartLines(series, lines, 120);
      t.false(out.some((l) => /-0(\.0+)?\s*[┤┼]/.test(l)), out.join('\n'));
    }
  }
  const wide = chartLines(Array.from({ length: 60 }, (_, i) => i % 9), 8, 250);
  t.true(wide.slice(1).some((l) => l.trimEnd().length >= 240), `${Math.max(...wide.map((l) => l.trimEnd().length))} of 250 columns`);
});

test('chartLines: exactly the lines asked for, never wider than the width, whatever the series', (t) => {
  const series: Array<readonly number[]> = [[], [5], [0, 0, 0], [NaN, Infinity, 3, 4], Array.from({ length: 300 }, (_, i) => i % 17), [1e6, 2e6]];
  for (const s of series) {
    for (const width of [20, 80, 200]) {
      for (const lines of [2, 5, 7]) {
        const out = chartLines(s, lines, width);
        t.is(out.length, lines, `${JSON.stringify(s.slice(0, 4))} ${width}x${lines}`);
        t.true(out.every((l) => l.length <= width), `${width}: ${out.find((l) => l.length > width)}`);
      }
    }
  }
  t.deepEqual(chartLines([1, 2], 1, 80), [], 'no chart below two lines');
});

test('sparkline: fixed width, a given scale or its own, idle is the lowest bar', (t) => {
  t.is(sparkline([0, 4, 8], 5, 8), '  ▁▄█');
  t.is(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4), '▆▇██', 'the last values, scaled to their own maximum');
  t.is(sparkline([], 3), '   ');
  t.is(sparkline([NaN, -1, 0], 3), '▁▁▁');
});

test('movingAverage turns per-tick rates into rates over the window', (t) => {
  t.deepEqual(movingAverage([4, 8, 4, 8, 0, 0], 2), [4, 6, 6, 6, 4, 0]);
  t.deepEqual(movingAverage([NaN, 2], 4), [0, 1]);
  t.deepEqual(movingAverage([], 4), []);
});
