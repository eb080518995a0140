/** Turns key presses into keymap actions for the current scope; printable text goes to `onText` in the add input. */
import { useInput, useStdin, type Key } from 'ink';
import { useCallback, useRef } from 'react';
import { bindingFor, type ActionId, type KeyScope } from '../keymap.js';

/** The name keymap.ts uses for a key press: a character, or up, down, tab, enter, escape, backspace, ctrl+c. */
export function keyNameOf(input: string, key: Key): string {
  if (key.ctrl && input === 'c') return 'ctrl+c';
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.tab) return 'tab';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.backspace || key.delete) return 'backspace';
  return input;
}

/** Where key presses go once looked up in the keymap. */
export interface KeymapHandlers {
  onAction(action: ActionId, keyName: string): void;
  /** Printable input that matched no binding while in the `add` scope. */
  onText?(text: string): void;
}

const CONTROL_KEYS: Readonly<Record<string, string>> = { '\r': 'enter', '\n': 'enter', '\t': 'tab', '\u007f': 'backspace', '\u0003': 'ctrl+c' };

function printable(input: string): string {
  return input.replace(/[\u0000-\u001f\u007f]/g, '');
}

/**
 * Listens for keys while raw mode is available (never without a TTY) and dispatches each to the
 * binding of the scope `scope()` returns at that moment, so keys that arrive together ("jd")
 * act one after another on up-to-date state.
 */
export function useKeymap(scope: () => Exclude<KeyScope, 'any'>, handlers: KeymapHandlers): void {
  const { isRawModeSupported } = useStdin();
  const latest = useRef({ scope, handlers });
  latest.current = { scope, handlers };
  const onInput = useCallback((input: string, key: Key) => {
    const handle = (name: string, text: string): void => {
      const { scope: current, handlers: h } = latest.current;
      const now = current();
      const binding = bindingFor(now, name);
      if (binding !== undefined) h.onAction(binding.action, name);
      else if (now === 'add' && text !== '') h.onText?.(text);
    };
    const name = keyNameOf(input, key);
    const special = name !== input || key.ctrl || key.meta;
    if (special || input.length <= 1) return handle(name, special ? '' : printable(input));
    // Several keys in one read (fast typing, a paste, tmux send-keys): text runs and control keys, in order.
    for (const part of input.match(/[\r\n\t\u007f\u0003]|[^\r\n\t\u007f\u0003]+/g) ?? []) {
      const control = CONTROL_KEYS[part];
      if (control !== undefined) handle(control, '');
      else if (latest.current.scope() === 'add') handle(part, printable(part));
      else for (const char of printable(part)) handle(char, char);
    }
  }, []);
  useInput(onInput, { isActive: isRawModeSupported === true });
}
