/**
 * The dashboard's one table of keys: input handling looks actions up here, and the help
 * overlay and the help line are generated from it, so they cannot disagree.
 */

/** Where a binding applies: the main screen, the add-backend input, the remove confirmation, the help overlay, or everywhere. */
export type KeyScope = 'main' | 'add' | 'confirm' | 'help' | 'any';

/** What a key does; `use-dashboard.ts` has one handler per action. */
export type ActionId =
  | 'select-previous'
  | 'select-next'
  | 'cycle-strategy'
  | 'pick-strategy'
  | 'toggle-drain'
  | 'add-backend'
  | 'remove-backend'
  | 'weight-up'
  | 'weight-down'
  | 'next-pool'
  | 'toggle-logs'
  | 'toggle-help'
  | 'quit'
  | 'submit'
  | 'erase'
  | 'confirm'
  | 'cancel';

/** One row of the keymap: the keys, where they apply, and the words the help shows. */
export interface KeyBinding {
  scope: KeyScope;
  /** Key names as `keyNameOf` (hooks/use-keymap.ts) spells them: a character, or up, down, tab, enter, escape, backspace, ctrl+c. */
  keys: readonly string[];
  /** How the help overlay writes the keys. */
  display: string;
  label: string;
  /** Short form for the help line; bindings without one are only in the overlay. */
  hint?: { keys: string; label: string };
  action: ActionId;
}

const STRATEGY_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8'] as const;

/** Every key the dashboard reacts to, in the order the help overlay lists them. */
export const KEYMAP: readonly KeyBinding[] = Object.freeze([
  { scope: 'main', keys: ['up', 'k'], display: '↑ / k', label: 'select the previous backend', hint: { keys: '↑↓', label: 'select' }, action: 'select-previous' },
  { scope: 'main', keys: ['down', 'j'], display: '↓ / j', label: 'select the next backend', action: 'select-next' },
  { scope: 'main', keys: ['d'], display: 'd', label: 'drain the selected backend (no new requests), or undrain it', hint: { keys: 'd', label: 'drain' }, action: 'toggle-drain' },
  { scope: 'main', keys: ['s'], display: 's', label: 'switch to the next balancing strategy', hint: { keys: 's', label: 'strategy' }, action: 'cycle-strategy' },
  { scope: 'main', keys: STRATEGY_KEYS, display: '1-8', label: 'pick a strategy by number (listed below)', action: 'pick-strategy' },
  { scope: 'main', keys: ['+'], display: '+', label: 'raise the selected backend\'s weight by 1', hint: { keys: '+/-', label: 'weight' }, action: 'weight-up' },
  { scope: 'main', keys: ['-'], display: '-', label: 'lower the selected backend\'s weight by 1', action: 'weight-down' },
  { scope: 'main', keys: ['a'], display: 'a', label: 'add a backend: type its URL and an optional weight', hint: { keys: 'a', label: 'add' }, action: 'add-backend' },
  { scope: 'main', keys: ['x'], display: 'x', label: 'remove the selected backend (asks first)', hint: { keys: 'x', label: 'remove' }, action: 'remove-backend' },
  { scope: 'main', keys: ['tab'], display: 'Tab', label: 'show the next pool', hint: { keys: 'tab', label: 'pool' }, action: 'next-pool' },
  { scope: 'main', keys: ['l'], display: 'l', label: 'show or hide the live access log', hint: { keys: 'l', label: 'log' }, action: 'toggle-logs' },
  { scope: 'main', keys: ['?'], display: '?', label: 'show or hide this help', hint: { keys: '?', label: 'help' }, action: 'toggle-help' },
  { scope: 'main', keys: ['q'], display: 'q', label: 'quit: stop accepting, let in-flight requests finish, exit', hint: { keys: 'q', label: 'quit' }, action: 'quit' },
  { scope: 'any', keys: ['ctrl+c'], display: 'Ctrl-C', label: 'quit, from anywhere', action: 'quit' },
  { scope: 'add', keys: ['enter'], display: 'Enter', label: 'add the backend typed in the input', hint: { keys: 'enter', label: 'add' }, action: 'submit' },
  { scope: 'add', keys: ['backspace'], display: 'Backspace', label: 'delete the last character', action: 'erase' },
  { scope: 'add', keys: ['escape'], display: 'Esc', label: 'cancel adding', hint: { keys: 'esc', label: 'cancel' }, action: 'cancel' },
  { scope: 'confirm', keys: ['y'], display: 'y', label: 'remove the backend', hint: { keys: 'y', label: 'remove' }, action: 'confirm' },
  { scope: 'confirm', keys: ['n', 'escape'], display: 'n / Esc', label: 'keep the backend', hint: { keys: 'n', label: 'keep' }, action: 'cancel' },
  { scope: 'help', keys: ['?', 'escape'], display: '? / Esc', label: 'close this help', hint: { keys: 'esc', label: 'close help' }, action: 'toggle-help' },
  { scope: 'help', keys: ['q'], display: 'q', label: 'quit', hint: { keys: 'q', label: 'quit' }, action: 'quit' },
] satisfies KeyBinding[]);

/** The binding that `keyName` triggers in `scope` (bindings of scope `any` apply everywhere), or undefined. */
export function bindingFor(scope: Exclude<KeyScope, 'any'>, keyName: string): KeyBinding | undefined {
  return KEYMAP.find((b) => (b.scope === scope || b.scope === 'any') && b.keys.includes(keyName));
}

/** The bindings of one scope, in table order. */
export function bindingsIn(scope: KeyScope): KeyBinding[] {
  return KEYMAP.filter((b) => b.scope === scope);
}
