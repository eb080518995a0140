/** The question `q` asks before velo stops: what is still in flight, and y/N (no is the default). */
import { Text } from 'ink';
import { useTint } from './palette.js';
import { plural } from './test-result.js';

/** Requests in flight and open WebSocket connections right now. */
export interface QuitConfirmProps {
  requests: number;
  connections: number;
}

/** One line: `stop velo? 3 requests in flight, 1 WebSocket connection  y/N`. */
export function QuitConfirm({ requests, connections }: QuitConfirmProps) {
  const tint = useTint();
  return (
    <Text wrap="truncate-end" color={tint('yellow')} bold>
      {`stop velo? ${plural(requests, 'request')} in flight, ${plural(connections, 'WebSocket connection')}  y/N`}
    </Text>
  );
}
