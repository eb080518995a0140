/** Turns key presses into keymap actions for the current scope; printable text goes to `onText` in a text input. */
import { useInput, useStdin, type Key } from 'ink';
import { useCallback, useRef } from 'react';
import { bindingFor, isInputScope, type ActionId, type ScreenScope } from '../keymap.js';

/**
 * The name keymap.ts uses for a key press: a character, or up, down, left, right, pageup,
 * pagedown, home, end, tab, enter, escape, backspace, ctrl+X.
 */
export function keyNameOf(input: string, key: Key): string {
  if (key.ctrl && input === 'c') return 'ctrl+c';
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.tab) return 'tab';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  // Ink reports the Backspace key (DEL, 0x7f) as `delete`, the same as the Delete key: both erase backwards.
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && /^[a-z]$/.test(input)) return `ctrl+${input}`;
  return input;
}

/** Where key presses go once looked up in the keymap. */
export interface KeymapHandlers {
  onAction(action: ActionId, keyName: string): void;
  /** Printable input that matched no binding while in a text input. */
  onText?(text: string): void;
}

// Control characters that can arrive inside a burst (a paste, tmux send-keys) and their key names.
const CONTROL_KEYS: Readonly<Record<string, string>> = {
  '\r': 'enter',
  '\n': 'enter',
  '\t': 'tab',
  '\u007f': 'backspace',
  '\u0003': 'ctrl+c',
  '\u0015': 'ctrl+u',
  '\u0017': 'ctrl+w',
  '\u0001': 'ctrl+a',
  '\u0005': 'ctrl+e',
};
const SPLIT = /[\r\n\t\u007f\u0003\u0015\u0017\u0001\u0005]|[^\r\n\t\u007f\u0003\u0015\u0017\u0001\u0005]+/g;

function printable(input: string): string {
  return input.replace(/[\u0000-\u001f\u007f]/g, '');
}

/**
 * Listens for keys while raw mode is available (never without a TTY) and dispatches each to the
 * binding of the scope `scope()` returns at that moment, so keys that arrive together ("jd")
 * act one after another on up-to-date state.
 */
export function useKeymap(scope: () => ScreenScope, handlers: KeymapHandlers): void {
  const { isRawModeSupported } = useStdin();
  const latest = useRef({ scope, handlers });
  latest.current = { scope, handlers };
  const onInput = useCallback((input: string, key: Key) => {
    const handle = (name: string, text: string): void => {
      const { scope: current, handlers: h } = latest.current;
      const now = current();
      const binding = bindingFor(now, name);
      if (binding !== undefined) h.onAction(binding.action, name);
      else if (isInputScope(now) && text !== '') h.onText?.(text);
    };
    const name = keyNameOf(input, key);
    const special = name !== input || key.ctrl || key.meta;
    if (special || input.length <= 1) return handle(name, special ? '' : printable(input));
    // Several keys in one read (fast typing, a paste, tmux send-keys): text runs and control keys, in order.
    for (const part of input.match(SPLIT) ?? []) {
      const control = CONTROL_KEYS[part];
      if (control !== undefined) handle(control, '');
      else if (isInputScope(latest.current.scope())) handle(part, printable(part));
      else for (const char of printable(part)) handle(char, char);
    }
  }, []);
  useInput(onInput, { isActive: isRawModeSupported === true });
}
