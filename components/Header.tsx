/** The header: what is running where (version, address, pool, strategy) and how it is doing, over a request-rate chart. */
import { plot } from 'asciichart';
import { Box, Text } from 'ink';
import type { Segment } from './header-lines.js';
import { SEPARATOR } from './header-lines.js';
import { useTint } from './palette.js';

const LABEL_WIDTH = 6;
/** asciichart draws the label, a space and the axis before the points. */
const AXIS_WIDTH = LABEL_WIDTH + 2;
/** Sampler ticks per second: the history has a point per 250 ms. */
const POINTS_PER_SECOND = 4;

/** `points` stretched (each repeated) or cut to exactly `width` values, so the chart spans the width. */
export function stretch(points: readonly number[], width: number): number[] {
  if (points.length >= width) return points.slice(-width);
  return Array.from({ length: width }, (_, i) => points[Math.floor((i * points.length) / width)]!);
}

/** An axis label: never `-0` (a rounding of zero), right-aligned in the label's width. */
export function axisLabel(value: number, decimals: number): string {
  const text = Math.max(0, value).toFixed(decimals);
  return (/^-0(\.0*)?$/.test(text) ? text.slice(1) : text).padStart(LABEL_WIDTH);
}

/**
 * The chart's lines: exactly `lines` of them, as wide as `width`. A caption line says what is
 * drawn; the series is stretched or cut to the width, non-finite values are dropped, and a flat
 * series still gets a range (asciichart throws on empty or NaN input and collapses flat ones).
 */
export function chartLines(history: readonly number[], lines: number, width: number): string[] {
  if (lines < 2) return [];
  const columns = Math.max(2, width - AXIS_WIDTH - 1);
  const finite = history.filter((v) => Number.isFinite(v)).slice(-columns);
  if (finite.length < 2) return [fit(`${' '.repeat(LABEL_WIDTH)} ┤ waiting for the first samples…`, width), ...Array<string>(lines - 1).fill('')];
  const captioned = lines >= 4;
  const seconds = Math.round(finite.length / POINTS_PER_SECOND);
  const caption = fit(`${' '.repeat(LABEL_WIDTH)} req/s, 1 s average, the last ${seconds} s`, width);
  const points = stretch(finite, columns);
  const max = Math.max(1, ...points);
  const decimals = max < 10 ? 1 : 0;
  const text = plot(points, { height: lines - (captioned ? 2 : 1), min: 0, max, format: (x) => axisLabel(x, decimals) });
  const out = text.split('\n').map((l) => fit(l, width));
  return (captioned ? [caption, ...out] : out).slice(0, lines);
}

function fit(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text;
}

function SegmentText({ segment }: { segment: Segment }) {
  const tint = useTint();
  return (
    <>
      {segment.label ? <Text dimColor>{segment.label}</Text> : null}
      <Text bold color={tint(segment.color)}>
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
  const tint = useTint();
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
        <Text key={`chart-${i}`} color={tint('cyan')} wrap="truncate-end">
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}
