/**
 * How the terminal's rows are shared out. The whole frame stays at least one line shorter than
 * the terminal, because output as tall as the terminal makes Ink clear the screen on every
 * frame (flicker).
 */

export interface LayoutInput {
  rows: number;
  /** Lines that are always drawn: title, header, table heading, status or input, help line. */
  fixedLines: number;
  backends: number;
  logsVisible: boolean;
}

/** Lines given to each part of the frame. */
export interface LayoutPlan {
  /** Lines of the request-rate chart, 0 to hide it. */
  chartLines: number;
  /** Lines for backend rows (including a scroll indicator when they do not all fit). */
  tableLines: number;
  /** Lines of the event pane, its title included; below 2 it is hidden. */
  eventLines: number;
  /** Lines of the access-log pane, its title included; 0 when hidden. */
  logLines: number;
}

const BACKENDS_BEFORE_CHART = 8;

/** Splits `rows - 1 - fixedLines` lines between the chart, the backend rows and the bottom panes. */
export function planLayout({ rows, fixedLines, backends, logsVisible }: LayoutInput): LayoutPlan {
  const avail = Math.max(0, rows - 1 - fixedLines);
  const bottomMin = logsVisible ? 6 : 3;
  const chartMax = rows >= 30 ? 7 : 5;
  const wanted = Math.max(1, backends);
  const room = avail - bottomMin - Math.min(wanted, BACKENDS_BEFORE_CHART);
  const chartLines = room >= 4 ? Math.min(chartMax, room) : 0;
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
