/** The question asked before the runtime changes are written into the config file: what will be written, then y/n. */
import { Box, Text } from 'ink';
import { useTint } from './palette.js';

/**
 * The question's lines for `changes` in at most `maxLines` lines (never fewer than two): the
 * question, as many changes as fit, and `+N more` for the rest.
 */
export function saveQuestionLines(file: string, changes: readonly string[], maxLines: number): string[] {
  const count = changes.length;
  const question = `write ${count === 1 ? '1 runtime change' : `${count} runtime changes`} into ${file}? y = write, n = cancel`;
  const room = Math.max(1, maxLines - 1);
  const shown = count <= room ? changes : changes.slice(0, room - 1);
  const rest = count - shown.length;
  return [question, ...shown.map((c) => `  ${c}`), ...(rest > 0 ? [`  +${rest} more`] : [])];
}

/** The file, the changes in words, and how many lines the question may take. */
export interface ConfirmSaveProps {
  file: string;
  changes: readonly string[];
  maxLines: number;
}

/** The question in bold, each change under it on a line of its own. */
export function ConfirmSave({ file, changes, maxLines }: ConfirmSaveProps) {
  const tint = useTint();
  const [question, ...rest] = saveQuestionLines(file, changes, maxLines);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" color={tint('yellow')} bold>
        {question}
      </Text>
      {rest.map((line, i) => (
        <Text key={i} wrap="truncate-end" color={tint('yellow')}>
          {line}
        </Text>
      ))}
    </Box>
  );
}
