/**
 * How the terminal's rows are shared out: the frame is exactly as tall as the terminal (it runs
 * on the alternate screen), the key bar on its last line. The chart grows with the terminal, the
 * backend rows take what they need, and the event pane (with the log pane when shown) takes the
 * rest.
 */

export interface LayoutInput {
  rows: number;
  /** Lines that are always drawn: title, header, table heading, status or input, key bar. */
  fixedLines: number;
  backends: number;
  logsVisible: boolean;
}

/** Lines given to each part of the frame; with `fixedLines` they add up to `rows` whenever `rows` > `fixedLines`. */
export interface LayoutPlan {
  /** Lines of the request-rate chart, 0 to hide it. */
  chartLines: number;
  /** Lines for backend rows (including a scroll indicator when they do not all fit). */
  tableLines: number;
  /** Lines of the event pane, its title included. */
  eventLines: number;
  /** Lines of the access-log pane, its title included; 0 when hidden. */
  logLines: number;
}

const BACKENDS_BEFORE_CHART = 8;
const CHART_MIN = 5;
const CHART_MAX = 20;

/** The chart's most lines for a terminal of `rows`: 5 on a small one, up to 20 (a third of a tall one). */
export function chartMaxLines(rows: number): number {
  return Math.max(CHART_MIN, Math.min(CHART_MAX, Math.floor(rows / 3.5)));
}

/** Splits `rows - fixedLines` lines between the chart, the backend rows and the bottom panes, using every line. */
export function planLayout({ rows, fixedLines, backends, logsVisible }: LayoutInput): LayoutPlan {
  const avail = Math.max(0, rows - fixedLines);
  const bottomMin = logsVisible ? 6 : 3;
  const wanted = Math.max(1, backends);
  const room = avail - bottomMin - Math.min(wanted, BACKENDS_BEFORE_CHART);
  const chartLines = room >= 4 ? Math.min(chartMaxLines(rows), room) : 0;
  const tableLines = Math.min(avail, Math.max(1, Math.min(wanted, avail - chartLines - bottomMin)));
  const bottom = Math.max(0, avail - chartLines - tableLines);
  if (!logsVisible) return { chartLines, tableLines, eventLines: bottom, logLines: 0 };
  const eventLines = Math.min(bottom, Math.max(3, Math.floor(bottom / 3)));
  return { chartLines, tableLines, eventLines, logLines: bottom - eventLines };
}

/** The first row of the `visible`-row window that keeps row `selected` of `total` in view, centred when possible. */
export function scrollStart(total: number, visible: number, selected: number): number {
  if (visible <= 0 || total <= visible) return 0;
  const centred = selected - Math.floor(visible / 2);
  return Math.min(Math.max(0, centred), total - visible);
}
