/** The key bar on the last line: the keys of the current scope, from the keymap table, fitted to the width. */
import { Text } from 'ink';
import { bindingsIn, type ScreenScope } from './keymap.js';
import { useTint } from './palette.js';

const GAP = '  ';
const ALWAYS: ReadonlySet<string> = new Set(['toggle-help', 'ask-quit']);

/** The hints shown for `scope` in `width` columns: as many as fit, with help and quit always kept. */
export function helpHints(scope: ScreenScope, width: number): Array<{ keys: string; label: string }> {
  const bindings = bindingsIn(scope).filter((b) => b.hint !== undefined);
  const kept = bindings.filter((b) => ALWAYS.has(b.action));
  const size = (bs: typeof bindings): number => bs.reduce((n, b) => n + b.hint!.keys.length + 1 + b.hint!.label.length, 0) + GAP.length * Math.max(0, bs.length - 1);
  const chosen = [...kept];
  for (const b of bindings) {
    if (chosen.includes(b)) continue;
    if (size([...chosen, b]) > width) break;
    chosen.push(b);
  }
  return bindings.filter((b) => chosen.includes(b)).map((b) => b.hint!);
}

/** The scope whose keys to show and the width they must fit. */
export interface HelpLineProps {
  scope: ScreenScope;
  width: number;
}

/** Keys in bold, what they do dimmed. */
export function HelpLine({ scope, width }: HelpLineProps) {
  const tint = useTint();
  const hints = helpHints(scope, width);
  return (
    <Text wrap="truncate-end">
      {hints.length === 0 ? ' ' : null}
      {hints.map((h, i) => (
        <Text key={h.keys + h.label}>
          {i > 0 ? GAP : ''}
          <Text bold color={tint('cyan')}>
            {h.keys}
          </Text>
          <Text dimColor> {h.label}</Text>
        </Text>
      ))}
    </Text>
  );
}
