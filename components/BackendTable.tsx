/** The selected pool's backends: a heading and one row each, scrolled to keep the selection in view. */
import { Box, Text } from 'ink';
import { useMemo } from 'react';
import type { BackendSnapshot } from '../src/metrics/snapshot.js';
import { BackendRow, SMOOTH_TICKS } from './BackendRow.js';
import { ROW_PREFIX, fitColumns, shortNames } from './columns.js';
import { fit } from './format-units.js';
import { scrollStart } from './layout.js';
import { useTint } from './palette.js';
import { movingAverage } from './sparkline.js';

/** The backends of the pool on screen, the selected index and the space to draw in. */
export interface BackendTableProps {
  backends: readonly BackendSnapshot[];
  selected: number;
  /** Lines for rows, the scroll indicator included (the heading is extra). */
  height: number;
  width: number;
}

function namedApartFromUrl(b: BackendSnapshot): boolean {
  return !b.url.endsWith(`//${b.name}`);
}

/** Draws the heading plus at most `height` lines; columns that do not fit in `width` are left out. */
export function BackendTable({ backends, selected, height, width }: BackendTableProps) {
  const longestName = backends.reduce((n, b) => Math.max(n, b.name.length), 0);
  const longestUrl = backends.some(namedApartFromUrl) ? backends.reduce((n, b) => Math.max(n, b.url.length), 0) : 0;
  const discovered = backends.some((b) => b.source === 'docker' || b.source === 'dns');
  const columns = useMemo(() => fitColumns(width, longestName, longestUrl, discovered), [width, longestName, longestUrl, discovered]);
  const tint = useTint();
  const nameWidth = columns.find((c) => c.id === 'name')?.width ?? 8;
  const labels = shortNames(backends.map((b) => b.name), nameWidth);
  const trendMax = backends.reduce((m, b) => Math.max(m, ...movingAverage(b.rpsHistory, SMOOTH_TICKS).slice(-30)), 0);
  const overflow = backends.length > height;
  const visible = overflow && height > 1 ? height - 1 : height;
  const start = scrollStart(backends.length, visible, selected);
  const shown = backends.slice(start, start + visible);
  const heading = ' '.repeat(ROW_PREFIX) + columns.map((c) => fit(c.title, c.width, c.align)).join(' ');
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" bold underline>
        {heading}
      </Text>
      {backends.length === 0 && height > 0 ? (
        <Text wrap="truncate-end" color={tint('yellow')}>
          {'  no backends in this pool: press a to add one'}
        </Text>
      ) : null}
      {shown.map((b, i) => (
        <BackendRow key={b.id} backend={b} label={labels[start + i]!} columns={columns} selected={start + i === selected} trendMax={trendMax} />
      ))}
      {overflow && height > 1 ? (
        <Text wrap="truncate-end" dimColor>
          {`  ↑ ${start} more above · ↓ ${backends.length - start - shown.length} more below · ${backends.length} backends · j/k PgUp/PgDn g/G`}
        </Text>
      ) : null}
    </Box>
  );
}
