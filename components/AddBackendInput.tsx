/** A one-line text input (the add-backend URL, the test-request count): prompt, text with a cursor, then the error or a hint. */
import { Box, Text } from 'ink';
import type { LineEdit } from './line-edit.js';
import { useTint } from './palette.js';
import { wrapText } from './wrap-text.js';

/** Error lines shown at most, so the frame's height stays predictable. */
export const MAX_ERROR_LINES = 3;

/** `text` wrapped at word boundaries into lines of at most `width` characters, at most `MAX_ERROR_LINES` of them. */
export function errorLines(text: string, width: number): string[] {
  return wrapText(text, width).filter((l) => l !== '').slice(0, MAX_ERROR_LINES);
}

/** Lines an input takes: the prompt line plus the error's lines or the hint's one. */
export function inputLines(error: string | undefined, width: number): number {
  return 1 + (error ? errorLines(`✗ ${error}`, width).length : 1);
}

/** The prompt, what was typed with its cursor, the error to show if any, a hint otherwise, and the width. */
export interface LineInputProps {
  prompt: string;
  edit: LineEdit;
  error?: string;
  hint: string;
  width: number;
}

/**
 * The prompt, the text with the cursor drawn inverse on the character it stands on, then the
 * whole error (red, wrapped) or the hint. When the text is too long, its start scrolls out of
 * view, never the cursor.
 */
export function LineInput({ prompt, edit, error, hint, width }: LineInputProps) {
  const tint = useTint();
  const room = Math.max(1, width - prompt.length - 1);
  const first = Math.max(0, edit.cursor - room + 1);
  const shown = edit.text.slice(first, first + room);
  const at = edit.cursor - first;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold color={tint('cyan')}>
          {prompt}
        </Text>
        {shown.slice(0, at)}
        <Text inverse>{shown[at] ?? ' '}</Text>
        {shown.slice(at + 1)}
      </Text>
      {error ? (
        errorLines(`✗ ${error}`, width).map((line, i) => (
          <Text key={i} wrap="truncate-end" color={tint('red')}>
            {line}
          </Text>
        ))
      ) : (
        <Text wrap="truncate-end" dimColor>
          {hint}
        </Text>
      )}
    </Box>
  );
}

/** The add-backend input. */
export function AddBackendInput({ edit, error, width }: { edit: LineEdit; error?: string; width: number }) {
  return <LineInput prompt="add backend (URL [weight]): " edit={edit} error={error} width={width} hint="e.g. http://127.0.0.1:8084 or http://10.0.0.7:80 3 · ←→ move · Ctrl-U/Ctrl-W delete" />;
}
