/** The header: what is running where (version, address, pool, strategy) and how it is doing, over a request-rate chart. */
import { plot } from 'asciichart';
import { Box, Text } from 'ink';
import type { Segment } from './header-lines.js';
import { SEPARATOR } from './header-lines.js';

const LABEL_WIDTH = 6;
/** asciichart draws the label, a space and the axis before the points. */
const AXIS_WIDTH = LABEL_WIDTH + 2;
const CAPTION = '← req/s, 1 s average, a point per 250 ms';

/**
 * The chart's lines: exactly `lines` of them, never wider than `width`. The series is sliced to
 * fit, non-finite values are dropped, and a flat series still gets a range (asciichart throws on
 * empty or NaN input and collapses flat ones).
 */
export function chartLines(history: readonly number[], lines: number, width: number): string[] {
  if (lines < 2) return [];
  const points = history.filter((v) => Number.isFinite(v)).slice(-Math.max(0, width - AXIS_WIDTH - 1));
  if (points.length < 2) return [fit(`${' '.repeat(LABEL_WIDTH)} ┤ waiting for the first samples…`, width), ...Array<string>(lines - 1).fill('')];
  const max = Math.max(1, ...points);
  const decimals = max < 10 ? 1 : 0;
  const text = plot(points, { height: lines - 1, min: 0, max, format: (x) => x.toFixed(decimals).padStart(LABEL_WIDTH) });
  const out = text.split('\n').slice(0, lines);
  const first = out[0] ?? '';
  if (width - first.length >= CAPTION.length + 2) out[0] = `${first}  ${CAPTION}`;
  return out;
}

function fit(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text;
}

function SegmentText({ segment }: { segment: Segment }) {
  return (
    <>
      {segment.label ? <Text dimColor>{segment.label}</Text> : null}
      <Text bold color={segment.color}>
        {segment.value}
      </Text>
      {segment.suffix ? <Text>{segment.suffix}</Text> : null}
    </>
  );
}

/** Packed header lines, the total req/s history and the chart's height. */
export interface HeaderProps {
  lines: readonly (readonly Segment[])[];
  history: readonly number[];
  chartHeight: number;
  width: number;
}

/** Renders the packed header lines, then `chartHeight` lines of chart. */
export function Header({ lines, history, chartHeight, width }: HeaderProps) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.map((segment, j) => (
            <Text key={j}>
              {j > 0 ? <Text dimColor>{SEPARATOR}</Text> : null}
              <SegmentText segment={segment} />
            </Text>
          ))}
        </Text>
      ))}
      {chartLines(history, chartHeight, width).map((line, i) => (
        <Text key={`chart-${i}`} color="cyan" wrap="truncate-end">
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}
