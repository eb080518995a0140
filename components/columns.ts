/**
 * The backend table's columns and which ones fit: on a narrow terminal the least important
 * columns are dropped, whole, instead of letting a row wrap.
 */

export type ColumnId = 'name' | 'state' | 'circuit' | 'inFlight' | 'tunnels' | 'trend' | 'rps' | 'p50' | 'p99' | 'requests' | 'errors' | 'weight' | 'source' | 'url';

/** A column of the backend table as drawn: its title, width and alignment. */
export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  align: 'left' | 'right';
}

interface ColumnSpec extends Column {
  /** Columns with the highest number are dropped first; 0 is never dropped. */
  dropOrder: number;
}

const SPECS: readonly ColumnSpec[] = [
  { id: 'name', title: 'backend', width: 8, align: 'left', dropOrder: 0 },
  { id: 'state', title: 'state', width: 9, align: 'left', dropOrder: 0 },
  { id: 'circuit', title: 'circuit', width: 9, align: 'left', dropOrder: 8 },
  { id: 'inFlight', title: 'inflight', width: 8, align: 'right', dropOrder: 5 },
  // Open WebSocket tunnels (also counted in inflight).
  { id: 'tunnels', title: 'ws', width: 3, align: 'right', dropOrder: 8.5 },
  { id: 'trend', title: 'req/s trend', width: 11, align: 'left', dropOrder: 6 },
  { id: 'rps', title: 'req/s', width: 6, align: 'right', dropOrder: 1 },
  { id: 'p50', title: 'p50ms', width: 6, align: 'right', dropOrder: 9 },
  { id: 'p99', title: 'p99ms', width: 6, align: 'right', dropOrder: 4 },
  { id: 'requests', title: 'requests', width: 8, align: 'right', dropOrder: 7 },
  { id: 'errors', title: 'errors', width: 6, align: 'right', dropOrder: 3 },
  { id: 'weight', title: 'weight', width: 6, align: 'right', dropOrder: 2 },
  // Where a discovered backend comes from (docker, dns): removing it by hand would not last.
  { id: 'source', title: 'src', width: 6, align: 'left', dropOrder: 7.2 },
  // Before requests and the rest: an operator with named backends wants to see where they point.
  { id: 'url', title: 'url', width: 0, align: 'left', dropOrder: 7.5 },
];

/** Characters before the first column: the selection marker and a space. */
export const ROW_PREFIX = 2;
const GAP = 1;
/** Name characters kept before any column is dropped; more only when there is room to spare. */
const NAME_FIRST = 16;
const NAME_MAX = 24;
const TREND_MAX = 30;
const URL_MAX = 40;
/** The URL column shrinks (shortened in the middle) down to this before it is dropped. */
const URL_MIN = 16;

function totalWidth(columns: readonly Column[]): number {
  return ROW_PREFIX + columns.reduce((sum, c) => sum + c.width, 0) + GAP * Math.max(0, columns.length - 1);
}

/**
 * The columns to show in `width` characters, each with its width: names get up to their
 * longest length, the trend sparkline grows on wide terminals, and the URL column appears only
 * when `longestUrl` > 0 and there is room for it, the source column only with `showSource`
 * (a backend came from a discovery provider). The row never exceeds `width`.
 */
export function fitColumns(width: number, longestName: number, longestUrl = 0, showSource = false): Column[] {
  let columns: Column[] = SPECS.filter((s) => (s.id !== 'url' || longestUrl > 0) && (s.id !== 'source' || showSource)).map((s) => ({
    id: s.id,
    title: s.title,
    align: s.align,
    width: s.id === 'url' ? Math.min(URL_MAX, Math.max(longestUrl, s.title.length)) : s.id === 'name' ? Math.min(NAME_FIRST, Math.max(longestName, s.width)) : s.width,
  }));
  const order = new Map(SPECS.map((s) => [s.id, s.dropOrder]));
  while (totalWidth(columns) > width) {
    const url = columns.find((c) => c.id === 'url');
    if (url !== undefined && url.width > URL_MIN) {
      url.width = Math.max(URL_MIN, url.width - (totalWidth(columns) - width));
      continue;
    }
    const victim = columns.reduce((worst, c) => ((order.get(c.id) ?? 0) > (order.get(worst.id) ?? 0) ? c : worst));
    if ((order.get(victim.id) ?? 0) === 0) break;
    columns = columns.filter((c) => c !== victim);
  }
  let spare = width - totalWidth(columns);
  const grow = (id: ColumnId, upTo: number): void => {
    const column = columns.find((c) => c.id === id);
    if (column === undefined || spare <= 0) return;
    const extra = Math.min(spare, Math.max(0, upTo - column.width));
    column.width += extra;
    spare -= extra;
  };
  grow('name', Math.min(NAME_MAX, Math.max(longestName, 8)));
  grow('url', Math.min(URL_MAX, longestUrl));
  grow('trend', TREND_MAX);
  if (spare < 0) {
    const name = columns.find((c) => c.id === 'name')!;
    name.width = Math.max(1, name.width + spare);
  }
  return columns;
}

/**
 * `text` in at most `width` characters: cut in the middle with `…` when too long, keeping its
 * start and its last `tail` characters (`payments-se…-1a`), where names of siblings differ.
 */
export function shortenMiddle(text: string, width: number, tail = Math.max(1, Math.floor((width - 1) / 4))): string {
  if (text.length <= width) return text;
  if (width <= 2) return text.slice(0, width);
  const end = Math.min(tail, width - 2);
  return `${text.slice(0, width - 1 - end)}…${text.slice(text.length - end)}`;
}

/**
 * Each name shortened in the middle to `width`, keeping as much of the end as it takes for
 * names that differ only there to stay different (when the width allows).
 */
export function shortNames(names: readonly string[], width: number): string[] {
  let tail = Math.max(1, Math.floor((width - 1) / 4));
  for (;;) {
    const short = names.map((n) => shortenMiddle(n, width, tail));
    const distinct = new Set(short).size === new Set(names).size;
    if (distinct || tail >= width - 2) return short;
    tail += 1;
  }
}
