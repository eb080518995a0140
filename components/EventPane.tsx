/** Recent engine events (health and breaker transitions, admin actions, reloads), newest at the bottom. */
import { Box, Text } from 'ink';
import type { EngineEvent } from '../src/metrics/event-log.js';
import { formatClock } from './format-units.js';

const LEVEL_COLORS: Record<EngineEvent['level'], string | undefined> = { info: undefined, warn: 'yellow', error: 'red' };

/** The events to show and the lines they may take. */
export interface EventPaneProps {
  events: readonly EngineEvent[];
  /** Lines including the title; nothing is drawn below 2. */
  height: number;
}

/** Draws a title and the last `height - 1` events, one line each. */
export function EventPane({ events, height }: EventPaneProps) {
  if (height < 2) return null;
  const shown = events.slice(-(height - 1));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" bold>
        events <Text dimColor>(health, circuit breaker, admin actions, reloads)</Text>
      </Text>
      {shown.length === 0 ? <Text dimColor>  none yet</Text> : null}
      {shown.map((e) => (
        <Text key={e.seq} wrap="truncate-end" color={LEVEL_COLORS[e.level]}>
          <Text dimColor>{formatClock(e.at)} </Text>
          {`${e.kind.padEnd(9)} ${e.message}`}
        </Text>
      ))}
    </Box>
  );
}
