/**
 * The live access log and velo's own log lines, toggled with `l`; capture runs only while it is
 * shown. With a `/` filter only the access lines whose request matches are shown.
 */
import { Box, Text } from 'ink';
import { useEffect } from 'react';
import { formatClock } from './format-units.js';
import { useStore } from './hooks/use-snapshot.js';
import { useTint } from './palette.js';
import type { LogEntry, LogStore } from './store.js';
import { matchesRecord } from '../src/metrics/record-filter.js';
import type { LogFilter } from './hooks/use-dashboard.js';

const LEVEL_COLORS: Record<LogEntry['level'], string | undefined> = { debug: 'gray', info: undefined, warn: 'yellow', error: 'red' };

/** The log source and the lines the pane may take. */
export interface LogPaneProps {
  store: LogStore;
  /** Lines including the title; the pane always takes exactly this many. */
  height: number;
  /** Show only access entries whose request matches; velo's own log lines are hidden meanwhile. */
  filter?: LogFilter;
}

/** The entries `filter` lets through, oldest first. */
export function filterEntries(entries: readonly LogEntry[], filter: LogFilter | undefined): readonly LogEntry[] {
  if (filter === undefined) return entries;
  return entries.filter((e) => e.record !== undefined && matchesRecord(filter.filter, e.record));
}

/** Draws a title and the newest `height - 1` entries; turns access-log capture on while mounted. */
export function LogPane({ store, height, filter }: LogPaneProps) {
  const all = useStore(store);
  const entries = filterEntries(all, filter);
  const tint = useTint();
  useEffect(() => {
    store.setLive(true);
    return () => store.setLive(false);
  }, [store]);
  // The ring then keeps matching requests only, so the pane is not left with the few that
  // happened to match among the last few hundred.
  // Braces: an effect may return only a cleanup function (MessagePort.postMessage returns a boolean).
  useEffect(() => {
    store.setFilter?.(filter?.filter);
  }, [store, filter]);
  if (height < 1) return null;
  const shown = height > 1 ? entries.slice(-(height - 1)) : [];
  const blank = Math.max(0, height - 1 - (height > 1 ? Math.max(1, shown.length) : 0));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" bold>
        access log{' '}
        {filter === undefined ? (
          <Text dimColor>(l hides it · / filters)</Text>
        ) : (
          <>
            <Text color={tint('cyan')}>filter {filter.text}</Text>
            <Text dimColor>
              {' '}
              ({entries.length} of {all.length} lines · / changes it)
            </Text>
          </>
        )}
      </Text>
      {shown.length === 0 && height > 1 ? <Text dimColor>{filter === undefined ? '  waiting for requests…' : '  no recent request matches the filter'}</Text> : null}
      {shown.map((e, i) => (
        <Text key={`${e.at}-${i}`} wrap="truncate-end" color={tint(LEVEL_COLORS[e.level])}>
          <Text dimColor>{formatClock(e.at)} </Text>
          {e.text}
        </Text>
      ))}
      {Array.from({ length: blank }, (_, i) => (
        <Text key={`blank-${i}`}> </Text>
      ))}
    </Box>
  );
}
