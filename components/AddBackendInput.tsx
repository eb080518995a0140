/** The inline input for adding a backend: what was typed, and the validation error or an example. */
import { Box, Text } from 'ink';

/** Error lines shown at most, so the frame's height stays predictable. */
export const MAX_ERROR_LINES = 3;

/** `text` wrapped at word boundaries into lines of at most `width` characters, at most `MAX_ERROR_LINES` of them. */
export function errorLines(text: string, width: number): string[] {
  const max = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(' ')) {
    // Lines break between words; only a word wider than the whole line is cut.
    while (word.length > max) {
      if (line !== '') lines.push(line);
      line = '';
      lines.push(word.slice(0, max));
      word = word.slice(max);
    }
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= max) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines.slice(0, MAX_ERROR_LINES);
}

/** What was typed, the error to show if any, and the width to wrap it in. */
export interface AddBackendInputProps {
  text: string;
  error?: string;
  width: number;
}

/** The prompt with the typed text and a cursor, then the whole error (red, wrapped) or a hint. */
export function AddBackendInput({ text, error, width }: AddBackendInputProps) {
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-start">
        <Text bold color="cyan">
          add backend (URL [weight]):{' '}
        </Text>
        {text}
        <Text inverse> </Text>
      </Text>
      {error ? (
        errorLines(`✗ ${error}`, width).map((line, i) => (
          <Text key={i} wrap="truncate-end" color="red">
            {line}
          </Text>
        ))
      ) : (
        <Text wrap="truncate-end" dimColor>
          e.g. http://127.0.0.1:8084 or http://10.0.0.7:80 3
        </Text>
      )}
    </Box>
  );
}
