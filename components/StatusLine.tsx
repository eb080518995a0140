/** The result of the last key: what changed, or why nothing did. */
import { Text } from 'ink';

/** The notice to show, if any. */
export interface StatusLineProps {
  notice?: { text: string; level: 'info' | 'error' };
}

/** One line, green for a change and red for an error; blank when there is nothing to say. */
export function StatusLine({ notice }: StatusLineProps) {
  if (notice === undefined) return <Text> </Text>;
  return (
    <Text wrap="truncate-end" color={notice.level === 'error' ? 'red' : 'green'}>
      {`${notice.level === 'error' ? '✗' : '✓'} ${notice.text}`}
    </Text>
  );
}
