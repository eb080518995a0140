/**
 * The dashboard's one table of keys: input handling looks actions up here, and the help
 * overlay and the key bar are generated from it, so they cannot disagree.
 */

/**
 * Where a binding applies: the main screen, the add-backend, test-request and log-filter inputs
 * (all also take the `edit` keys), the remove, save and quit questions, the strategy picker,
 * the event view, the help overlay, the shutdown screen, or everywhere.
 */
export type KeyScope = 'main' | 'add' | 'test' | 'filter' | 'edit' | 'confirm' | 'save' | 'quit' | 'picker' | 'events' | 'help' | 'stopping' | 'any';

/** Scopes that a screen can be in (`edit` and `any` only lend their keys to others). */
export type ScreenScope = Exclude<KeyScope, 'edit' | 'any'>;

/** What a key does; `use-dashboard.ts` has one handler per action. */
export type ActionId =
  | 'select-previous'
  | 'select-next'
  | 'page-up'
  | 'page-down'
  | 'select-first'
  | 'select-last'
  | 'open-picker'
  | 'pick-strategy'
  | 'toggle-drain'
  | 'toggle-maintenance'
  | 'ask-save'
  | 'add-backend'
  | 'remove-backend'
  | 'weight-up'
  | 'weight-down'
  | 'test-requests'
  | 'open-events'
  | 'next-pool'
  | 'toggle-logs'
  | 'open-filter'
  | 'toggle-help'
  | 'ask-quit'
  | 'stop'
  | 'submit'
  | 'edit'
  | 'confirm'
  | 'cancel'
  /** Handled by the focused widget itself (the picker's list); listed for the help. */
  | 'widget';

/** One row of the keymap: the keys, where they apply, and the words the help shows. */
export interface KeyBinding {
  scope: KeyScope;
  /**
   * Key names as `keyNameOf` (hooks/use-keymap.ts) spells them: a character, or up, down,
   * left, right, pageup, pagedown, home, end, tab, enter, escape, backspace, ctrl+X.
   */
  keys: readonly string[];
  /** How the help overlay writes the keys. */
  display: string;
  label: string;
  /** Short form for the key bar; bindings without one are only in the overlay. */
  hint?: { keys: string; label: string };
  action: ActionId;
}

const STRATEGY_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8'] as const;

/** What the stop keys do, in the words of the stop rule (src/cli/drain-guard.ts). */
export const STOP_RULE =
  'stop velo: the first stop refuses new connections and lets requests in flight finish (up to shutdown_timeout, exit 0); the second says what a third does; the third cuts them (exit 1)';

/** Every key the dashboard reacts to, in the order the help overlay lists them. */
export const KEYMAP: readonly KeyBinding[] = Object.freeze([
  { scope: 'main', keys: ['up', 'k'], display: '↑ / k', label: 'select the previous backend', hint: { keys: '↑↓', label: 'select' }, action: 'select-previous' },
  { scope: 'main', keys: ['down', 'j'], display: '↓ / j', label: 'select the next backend', action: 'select-next' },
  { scope: 'main', keys: ['pageup'], display: 'PgUp', label: 'select a page up', action: 'page-up' },
  { scope: 'main', keys: ['pagedown'], display: 'PgDn', label: 'select a page down', action: 'page-down' },
  { scope: 'main', keys: ['home', 'g'], display: 'Home / g', label: 'select the first backend', action: 'select-first' },
  { scope: 'main', keys: ['end', 'G'], display: 'End / G', label: 'select the last backend', action: 'select-last' },
  { scope: 'main', keys: ['d'], display: 'd', label: 'drain the selected backend (no new requests), or undrain it', hint: { keys: 'd', label: 'drain' }, action: 'toggle-drain' },
  { scope: 'main', keys: ['m'], display: 'm', label: 'put the selected backend in maintenance (no requests at all, health checks go on), or take it out', action: 'toggle-maintenance' },
  { scope: 'main', keys: ['s'], display: 's', label: 'choose the balancing strategy from a list', hint: { keys: 's', label: 'strategy' }, action: 'open-picker' },
  { scope: 'main', keys: STRATEGY_KEYS, display: '1-8', label: 'switch to a strategy by number (listed below)', action: 'pick-strategy' },
  { scope: 'main', keys: ['+'], display: '+', label: 'raise the selected backend\'s weight by 1', hint: { keys: '+/-', label: 'weight' }, action: 'weight-up' },
  { scope: 'main', keys: ['-'], display: '-', label: 'lower the selected backend\'s weight by 1', action: 'weight-down' },
  { scope: 'main', keys: ['a'], display: 'a', label: 'add a backend: type its URL and an optional weight', hint: { keys: 'a', label: 'add' }, action: 'add-backend' },
  { scope: 'main', keys: ['x'], display: 'x', label: 'remove the selected backend (asks first)', hint: { keys: 'x', label: 'remove' }, action: 'remove-backend' },
  { scope: 'main', keys: ['t'], display: 't', label: 'send test requests through velo (100, or the number typed) and show where they went', hint: { keys: 't', label: 'test' }, action: 'test-requests' },
  { scope: 'main', keys: ['e', 'enter'], display: 'e / Enter', label: 'open the events, each one whole (a rejected reload lists every problem)', hint: { keys: 'e', label: 'events' }, action: 'open-events' },
  { scope: 'main', keys: ['tab'], display: 'Tab', label: 'show the next pool', hint: { keys: 'tab', label: 'pool' }, action: 'next-pool' },
  { scope: 'main', keys: ['l'], display: 'l', label: 'show or hide the live access log', hint: { keys: 'l', label: 'log' }, action: 'toggle-logs' },
  {
    scope: 'main',
    keys: ['/'],
    display: '/',
    label: 'filter the access log (and show it) by key:value terms, all must match: e.g. status:5xx|502 backend:b2 path:/api/* slower:500ms',
    // No key-bar hint: the bar is full at 120 columns; the log pane's title names `/` instead.
    action: 'open-filter',
  },
  { scope: 'main', keys: ['w'], display: 'w', label: 'write the runtime changes into the config file, comments kept (lists them and asks first)', hint: { keys: 'w', label: 'save' }, action: 'ask-save' },
  { scope: 'main', keys: ['?'], display: '?', label: 'show or hide this help', hint: { keys: '?', label: 'help' }, action: 'toggle-help' },
  { scope: 'main', keys: ['q'], display: 'q', label: 'quit: asks, then stops gracefully (in-flight requests finish)', hint: { keys: 'q', label: 'quit' }, action: 'ask-quit' },
  { scope: 'stopping', keys: ['ctrl+c'], display: 'Ctrl-C', label: 'stop harder: the second says what the third does, the third cuts what is in flight', hint: { keys: 'ctrl-c', label: 'again: see above' }, action: 'stop' },
  { scope: 'any', keys: ['ctrl+c'], display: 'Ctrl-C', label: STOP_RULE, action: 'stop' },
  { scope: 'edit', keys: ['left'], display: '←', label: 'move the cursor left', action: 'edit' },
  { scope: 'edit', keys: ['right'], display: '→', label: 'move the cursor right', action: 'edit' },
  { scope: 'edit', keys: ['home', 'ctrl+a'], display: 'Home / Ctrl-A', label: 'to the start', action: 'edit' },
  { scope: 'edit', keys: ['end', 'ctrl+e'], display: 'End / Ctrl-E', label: 'to the end', action: 'edit' },
  { scope: 'edit', keys: ['backspace'], display: 'Backspace', label: 'delete before the cursor', action: 'edit' },
  { scope: 'edit', keys: ['ctrl+u'], display: 'Ctrl-U', label: 'delete to the start', action: 'edit' },
  { scope: 'edit', keys: ['ctrl+w'], display: 'Ctrl-W', label: 'delete the word before the cursor', action: 'edit' },
  { scope: 'add', keys: ['enter'], display: 'Enter', label: 'add the backend typed in the input', hint: { keys: 'enter', label: 'add' }, action: 'submit' },
  { scope: 'add', keys: ['escape'], display: 'Esc', label: 'cancel adding', hint: { keys: 'esc', label: 'cancel' }, action: 'cancel' },
  { scope: 'test', keys: ['enter'], display: 'Enter', label: 'send that many test requests', hint: { keys: 'enter', label: 'send' }, action: 'submit' },
  { scope: 'test', keys: ['escape'], display: 'Esc', label: 'send none', hint: { keys: 'esc', label: 'cancel' }, action: 'cancel' },
  { scope: 'filter', keys: ['enter'], display: 'Enter', label: 'apply the filter (an empty one shows everything)', hint: { keys: 'enter', label: 'apply' }, action: 'submit' },
  { scope: 'filter', keys: ['escape'], display: 'Esc', label: 'clear the filter', hint: { keys: 'esc', label: 'clear' }, action: 'cancel' },
  { scope: 'confirm', keys: ['y'], display: 'y', label: 'remove the backend', hint: { keys: 'y', label: 'remove' }, action: 'confirm' },
  { scope: 'confirm', keys: ['n', 'escape'], display: 'n / Esc', label: 'keep the backend', hint: { keys: 'n', label: 'keep' }, action: 'cancel' },
  { scope: 'save', keys: ['y'], display: 'y', label: 'write the changes into the config file', hint: { keys: 'y', label: 'write' }, action: 'confirm' },
  { scope: 'save', keys: ['n', 'escape'], display: 'n / Esc', label: 'write nothing', hint: { keys: 'n', label: 'cancel' }, action: 'cancel' },
  { scope: 'quit', keys: ['y'], display: 'y', label: 'stop velo', hint: { keys: 'y', label: 'stop' }, action: 'stop' },
  { scope: 'quit', keys: ['n', 'escape', 'enter'], display: 'n / Esc / Enter', label: 'keep running', hint: { keys: 'n', label: 'keep running' }, action: 'cancel' },
  { scope: 'picker', keys: ['up', 'down'], display: '↑↓', label: 'move through the strategies', hint: { keys: '↑↓', label: 'choose' }, action: 'widget' },
  { scope: 'picker', keys: ['enter'], display: 'Enter', label: 'apply the chosen strategy', hint: { keys: 'enter', label: 'apply' }, action: 'widget' },
  { scope: 'picker', keys: STRATEGY_KEYS, display: '1-8', label: 'apply a strategy by number', action: 'pick-strategy' },
  { scope: 'picker', keys: ['escape', 's'], display: 'Esc', label: 'leave the strategy unchanged', hint: { keys: 'esc', label: 'unchanged' }, action: 'cancel' },
  { scope: 'events', keys: ['up', 'k'], display: '↑ / k', label: 'the previous event', hint: { keys: '↑↓', label: 'event' }, action: 'select-previous' },
  { scope: 'events', keys: ['down', 'j'], display: '↓ / j', label: 'the next event', action: 'select-next' },
  { scope: 'events', keys: ['pageup'], display: 'PgUp', label: 'a page up', hint: { keys: 'pgup/pgdn', label: 'page' }, action: 'page-up' },
  { scope: 'events', keys: ['pagedown'], display: 'PgDn', label: 'a page down', action: 'page-down' },
  { scope: 'events', keys: ['home', 'g'], display: 'Home / g', label: 'the oldest', hint: { keys: 'g/G', label: 'oldest/newest' }, action: 'select-first' },
  { scope: 'events', keys: ['end', 'G'], display: 'End / G', label: 'the newest', action: 'select-last' },
  { scope: 'events', keys: ['escape', 'e', 'enter', 'q'], display: 'Esc / e', label: 'back to the dashboard', hint: { keys: 'esc', label: 'back' }, action: 'cancel' },
  { scope: 'help', keys: ['?', 'escape', 'q'], display: '? / Esc / q', label: 'close this help', hint: { keys: 'esc', label: 'close help' }, action: 'toggle-help' },
] satisfies KeyBinding[]);

/** The scopes whose bindings also apply in `scope`, most specific first. */
function lookupOrder(scope: ScreenScope): KeyScope[] {
  return isInputScope(scope) ? [scope, 'edit', 'any'] : [scope, 'any'];
}

/** The binding that `keyName` triggers in `scope` (its own, then `edit` for inputs, then `any`), or undefined. */
export function bindingFor(scope: ScreenScope, keyName: string): KeyBinding | undefined {
  for (const s of lookupOrder(scope)) {
    const found = KEYMAP.find((b) => b.scope === s && b.keys.includes(keyName));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The bindings of one scope, in table order. */
export function bindingsIn(scope: KeyScope): KeyBinding[] {
  return KEYMAP.filter((b) => b.scope === scope);
}

/** Whether `scope` is a text input, whose unbound printable keys are typed into it. */
export function isInputScope(scope: ScreenScope): boolean {
  return scope === 'add' || scope === 'test' || scope === 'filter';
}
