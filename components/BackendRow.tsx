/** One backend as one line: every cell padded to its column, state written as a word and coloured. */
import { Text } from 'ink';
import { memo } from 'react';
import type { BackendSnapshot } from '../src/metrics/snapshot.js';
import { shortenMiddle, type Column, type ColumnId } from './columns.js';
import { fit, formatCount, formatMs } from './format-units.js';
import { useTint } from './palette.js';
import { movingAverage, sparkline } from './sparkline.js';

/** Rates are shown over this many sampler ticks (one second at 250 ms), which reads steadier than one tick. */
export const SMOOTH_TICKS = 4;

function average(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + (Number.isFinite(v) ? v : 0), 0) / Math.max(1, values.length);
}

/** Colours of the backend states; the word is always written too (and alone under NO_COLOR). */
export const STATE_COLORS: Record<BackendSnapshot['state'], string> = {
  healthy: 'green',
  // Out of rotation on purpose (the runtime-change overlay's `maint`), still health-checked.
  maint: 'blue',
  unhealthy: 'red',
  draining: 'yellow',
  down: 'magenta',
  unknown: 'gray',
};

const CIRCUIT_COLORS: Record<BackendSnapshot['circuit'], string> = { closed: 'gray', 'half-open': 'yellow', open: 'red' };

function cellText(id: ColumnId, b: BackendSnapshot, width: number, trendMax: number, label: string): string {
  switch (id) {
    case 'name':
      return label;
    case 'state':
      return b.state;
    case 'circuit':
      return b.circuit;
    case 'inFlight':
      return String(b.inFlight);
    case 'tunnels':
      return String(b.tunnels);
    case 'trend':
      return sparkline(movingAverage(b.rpsHistory, SMOOTH_TICKS), width, trendMax);
    case 'rps':
      return formatCount(b.rpsHistory.length > 0 ? average(b.rpsHistory.slice(-SMOOTH_TICKS)) : b.rps);
    case 'p50':
      return formatMs(b.p50Ms);
    case 'p99':
      return formatMs(b.p99Ms);
    case 'requests':
      return formatCount(b.requests, 0);
    case 'errors':
      return formatCount(b.failures, 0);
    case 'weight':
      return b.rampPercent < 100 ? `${b.weight}~${b.rampPercent}%` : String(b.weight);
    case 'source':
      // Only discovered backends are marked; the file's and runtime ones are the usual case.
      return b.source === 'docker' || b.source === 'dns' ? b.source : '';
    case 'url':
      // A narrow column shows the host and port whole before anything is cut: http:// goes first.
      return shortenMiddle(b.url.length <= width ? b.url : b.url.replace(/^http:\/\//, ''), width, Math.ceil(width / 2));
  }
}

function cellColor(id: ColumnId, b: BackendSnapshot): string | undefined {
  if (id === 'state') return (STATE_COLORS as Record<string, string>)[b.state];
  if (id === 'circuit') return CIRCUIT_COLORS[b.circuit];
  if (id === 'trend') return 'cyan';
  if (id === 'source') return 'cyan';
  if (id === 'errors' && b.failures > 0) return 'red';
  return undefined;
}

/** One backend, the columns to draw, whether it is selected, and the shared sparkline scale. */
export interface BackendRowProps {
  backend: BackendSnapshot;
  /** The name as it fits its column (shortened in the middle when long). */
  label: string;
  columns: readonly Column[];
  selected: boolean;
  /** The pool's highest recent (smoothed) req/s, so every row's sparkline shares one scale. */
  trendMax: number;
}

/** Renders a backend row; re-renders only when its snapshot, columns, selection or scale change. */
export const BackendRow = memo(function BackendRow({ backend, label, columns, selected, trendMax }: BackendRowProps) {
  const tint = useTint();
  return (
    <Text wrap="truncate-end" inverse={selected} bold={selected}>
      {selected ? '› ' : '  '}
      {columns.map((c, i) => (
        <Text key={c.id} color={tint(cellColor(c.id, backend))}>
          {(i === 0 ? '' : ' ') + fit(cellText(c.id, backend, c.width, trendMax, label), c.width, c.align)}
        </Text>
      ))}
    </Text>
  );
});
