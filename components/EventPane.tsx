/** Recent engine events (health and breaker transitions, admin actions, reloads), newest at the bottom. */
import { Box, Text } from 'ink';
import type { EngineEvent } from '../src/metrics/event-log.js';
import { formatClock } from './format-units.js';
import { useTint } from './palette.js';

/** Colours of the event levels; warnings and errors also say so in their words. */
export const LEVEL_COLORS: Record<EngineEvent['level'], string | undefined> = { info: undefined, warn: 'yellow', error: 'red' };

/** An event's whole text: its message, then its detail (every problem of a rejected reload) when it has one. */
export function eventText(e: EngineEvent): string {
  const { detail } = e;
  return detail !== undefined && detail !== '' && detail !== e.message ? `${e.message}\n${detail}` : e.message;
}

/** The events to show and the lines they may take. */
export interface EventPaneProps {
  events: readonly EngineEvent[];
  /** Lines including the title; the pane always takes exactly this many. */
  height: number;
}

/** Draws a title and the last `height - 1` events, one line each (e opens them whole), padded to `height` lines. */
export function EventPane({ events, height }: EventPaneProps) {
  const tint = useTint();
  if (height < 1) return null;
  const shown = height > 1 ? events.slice(-(height - 1)) : [];
  const used = 1 + (height > 1 ? Math.max(1, shown.length) : 0);
  const blank = Math.max(0, height - used);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" bold>
        events <Text dimColor>(health, circuit breaker, admin actions, reloads · e opens them whole)</Text>
      </Text>
      {shown.length === 0 && height > 1 ? <Text dimColor>  none yet</Text> : null}
      {shown.map((e) => (
        <Text key={e.seq} wrap="truncate-end" color={tint(LEVEL_COLORS[e.level])} dimColor={e.history === true /* an earlier run's, from the log store */}>
          <Text dimColor>{formatClock(e.at)} </Text>
          {`${e.kind.padEnd(9)} ${eventText(e).split('\n')[0]}${eventText(e).includes('\n') ? ' …' : ''}`}
        </Text>
      ))}
      {Array.from({ length: blank }, (_, i) => (
        <Text key={`blank-${i}`}> </Text>
      ))}
    </Box>
  );
}
