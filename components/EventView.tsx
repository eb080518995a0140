/** The events one at a time in full: the chosen one wrapped over as many lines as it needs, its neighbours one line each. */
import { Box, Text } from 'ink';
import type { EngineEvent } from '../src/metrics/event-log.js';
import { LEVEL_COLORS, eventText } from './EventPane.js';
import { formatClock } from './format-units.js';
import { useTint } from './palette.js';
import { wrapText } from './wrap-text.js';

/** The events (oldest first), which one is open (counted from the newest), and the space to draw in. */
export interface EventViewProps {
  events: readonly EngineEvent[];
  fromNewest: number;
  height: number;
  width: number;
}

type Line = { key: string; text: string; color?: string; bold?: boolean; dim?: boolean };

function oneLine(e: EngineEvent): string {
  return `${formatClock(e.at)} ${e.kind.padEnd(9)} ${eventText(e).split('\n')[0]}`;
}

/** The view's lines, exactly `height` of them (blank ones at the end). */
export function eventViewLines({ events, fromNewest, height, width }: EventViewProps): Line[] {
  const total = events.length;
  const index = Math.max(0, total - 1 - fromNewest);
  const title: Line = { key: 'title', text: `events ${total === 0 ? 0 : index + 1}/${total} · the chosen one in full · ↑↓ PgUp/PgDn g/G · Esc back`, bold: true };
  const lines: Line[] = [title];
  if (total === 0) lines.push({ key: 'none', text: '  none yet', dim: true });
  else {
    const open = events[index]!;
    const body = wrapText(`${oneLine(open).slice(0, 19)}${eventText(open)}`, Math.max(1, width - 2)).map((text, i) => ({ key: `open-${i}`, text: `› ${text}`, color: LEVEL_COLORS[open.level], bold: true }));
    const opened = body.slice(0, Math.max(1, height - 1));
    let room = Math.max(0, height - 1 - opened.length);
    // Neighbours around the open event: older ones above, newer below, as many as fit.
    let before = Math.min(index, Math.floor(room / 2));
    const after = Math.min(total - 1 - index, room - before);
    before = Math.min(index, room - after);
    room -= before + after;
    for (const e of events.slice(index - before, index)) lines.push({ key: `e${e.seq}`, text: `  ${oneLine(e)}`, color: LEVEL_COLORS[e.level] });
    lines.push(...opened);
    for (const e of events.slice(index + 1, index + 1 + after)) lines.push({ key: `e${e.seq}`, text: `  ${oneLine(e)}`, color: LEVEL_COLORS[e.level] });
  }
  while (lines.length < height) lines.push({ key: `blank-${lines.length}`, text: ' ' });
  return lines.slice(0, Math.max(0, height));
}

/** Draws `eventViewLines`. */
export function EventView(props: EventViewProps) {
  const tint = useTint();
  return (
    <Box flexDirection="column">
      {eventViewLines(props).map((l) => (
        <Text key={l.key} wrap="truncate-end" color={tint(l.color)} bold={l.bold} dimColor={l.dim}>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
