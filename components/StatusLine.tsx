/** The result of the last key: what changed, why nothing did, or what is under way. */
import { Text } from 'ink';
import { useTint } from './palette.js';

/** The notice to show, if any. */
export interface StatusLineProps {
  notice?: { text: string; level: 'info' | 'error' | 'busy' };
}

/** One line, ✓ (green) for a change, ✗ (red) for an error, … for work under way; blank when there is nothing to say. */
export function StatusLine({ notice }: StatusLineProps) {
  const tint = useTint();
  if (notice === undefined) return <Text> </Text>;
  const mark = notice.level === 'error' ? '✗' : notice.level === 'busy' ? '…' : '✓';
  return (
    <Text wrap="truncate-end" color={tint(notice.level === 'error' ? 'red' : notice.level === 'busy' ? 'yellow' : 'green')}>
      {`${mark} ${notice.text}`}
    </Text>
  );
}
