/**
 * What the screen says while velo stops: requests still in flight (the count falls as they
 * finish), the time left of `shutdown_timeout`, and what the next Ctrl-C does, by the stop rule
 * of src/cli/drain-guard.ts.
 */
import { Box, Text } from 'ink';
import { useTint } from './palette.js';
import type { DrainView } from './store.js';
import { plural } from './test-result.js';

/** The drain (undefined when only the snapshot says velo is stopping), the counts now, and the clock of the snapshot. */
export interface ShutdownBannerProps {
  drain: DrainView | undefined;
  requests: number;
  connections: number;
  /** Wall-clock ms of the snapshot shown, so the time left moves with it. */
  now: number;
}

/** The banner's two lines as text. */
export function shutdownLines({ drain, requests, connections, now }: ShutdownBannerProps): [string, string] {
  const left = drain === undefined ? undefined : Math.max(0, Math.ceil((drain.deadlineAt - now) / 1000));
  const total = drain === undefined ? undefined : Math.round((drain.deadlineAt - drain.beganAt) / 1000);
  const ws = connections > 0 ? `, ${plural(connections, 'WebSocket connection')} (closed at the end)` : '';
  const timeLeft = left === undefined ? '' : `; ${left}s of shutdown_timeout (${total}s) left`;
  const first = `stopping velo: new connections refused, ${plural(requests, 'request')} in flight${ws}${timeLeft}`;
  const stops = drain?.stops ?? 1;
  const second =
    drain?.forced === true || stops >= 3
      ? `cutting ${plural(requests, 'request')} now; velo exits 1`
      : requests === 0
        ? 'nothing in flight: closing'
        : stops === 2
          ? `Ctrl-C once more cuts ${plural(requests, 'request')} now and velo exits 1`
          : 'waiting for them to finish (exit 0); Ctrl-C twice more cuts them (exit 1)';
  return [first, second];
}

/** Draws the two lines, the first bold. */
export function ShutdownBanner(props: ShutdownBannerProps) {
  const tint = useTint();
  const [first, second] = shutdownLines(props);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" bold color={tint('yellowBright')}>
        {first}
      </Text>
      <Text wrap="truncate-end" color={tint(props.drain?.stops !== undefined && props.drain.stops >= 2 ? 'redBright' : undefined)}>
        {second}
      </Text>
    </Box>
  );
}
