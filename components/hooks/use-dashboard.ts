/**
 * The dashboard's interaction state (pool shown, selected backend, mode, log pane and its
 * filter, last notice) and what each keymap action does. Every change to velo goes through the control.
 * The state lives in a ref read at the moment a key arrives, so keys typed in one burst see
 * each other's effects before React has rendered.
 */
import { useReducer, useRef } from 'react';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import type { StrategyName } from '../../src/config/types.js';
import type { BackendSnapshot, EngineSnapshot, PoolSnapshot } from '../../src/metrics/snapshot.js';
import type { ActionId, ScreenScope } from '../keymap.js';
import { configLabel } from '../header-lines.js';
import { applyEditKey, insertText, lineEdit, type LineEdit } from '../line-edit.js';
import { parseAddInput } from '../parse-add-input.js';
import { formatRecordFilter, parseRecordFilter, type RecordFilter } from '../../src/metrics/record-filter.js';
import type { DashboardControl, StopSource } from '../store.js';
import { formatTestResult, parseTestCount, DEFAULT_TEST_REQUESTS } from '../test-result.js';
import { useKeymap } from './use-keymap.js';

/** What the keys currently drive: the table, the help, an input, a question, the strategy picker or the event view. */
export type Mode =
  | { kind: 'main' }
  | { kind: 'help' }
  | { kind: 'add'; edit: LineEdit; error?: string }
  | { kind: 'test'; edit: LineEdit; error?: string }
  /** Typing a log filter; `error` is the last Enter's problem (the applied filter stays). */
  | { kind: 'filter'; edit: LineEdit; error?: string }
  | { kind: 'confirm'; pool: string; backend: Pick<BackendSnapshot, 'id' | 'name' | 'url' | 'inFlight'> }
  /** The question before a save: the file (as the header names it) and each change in words. */
  | { kind: 'save'; file: string; changes: readonly string[] }
  | { kind: 'quit' }
  | { kind: 'picker'; pool: string; current: StrategyName }
  /** `selected` counts from the newest event (0), so new events do not move it. */
  | { kind: 'events'; fromNewest: number };

/** The outcome of the last action, for the status line. */
export interface Notice {
  text: string;
  level: 'info' | 'error' | 'busy';
}

/** The log pane's filter as applied: its canonical text and the parsed terms. */
export interface LogFilter {
  text: string;
  filter: RecordFilter;
}

interface UiState {
  poolIndex: number;
  selected: number;
  mode: Mode;
  logsVisible: boolean;
  /** Undefined: the pane shows every line. */
  logFilter: LogFilter | undefined;
  notice: Notice | undefined;
}

/** The interaction state with the pool and backend it points at in the current snapshot. */
export interface DashboardView extends UiState {
  pool: PoolSnapshot | undefined;
  backend: BackendSnapshot | undefined;
}

/** Lines a page key moves; the App sets it to the list's visible height. */
export interface PageSizes {
  table: number;
  events: number;
}

const ACTOR = 'dashboard';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A message on one line: a config error lists its problems on lines of their own. */
function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** The config file as the header names it, or words for its absence. */
function fileLabel(source: string | undefined): string {
  return source === undefined ? 'the config file' : configLabel(source);
}

/** Runs `run`, then `done` with its result (at once, or when its promise settles) or `failed` with its error. */
function settle<T>(run: () => T | Promise<T>, done: (value: T) => void, failed: (err: unknown) => void): void {
  let result: T | Promise<T>;
  try {
    result = run();
  } catch (err) {
    return failed(err);
  }
  if (result instanceof Promise) result.then(done, failed);
  else done(result);
}

/** What `state` shows of `snapshot`: indexes clamped to the pools and backends that exist now. */
export function viewOf(snapshot: EngineSnapshot, state: UiState): DashboardView {
  const pools = snapshot.pools;
  const poolIndex = pools.length === 0 ? 0 : state.poolIndex % pools.length;
  const pool = pools[poolIndex];
  const count = pool?.backends.length ?? 0;
  const selected = count === 0 ? 0 : Math.min(state.selected, count - 1);
  return { ...state, poolIndex, selected, pool, backend: pool?.backends[selected] };
}

/** The events of the pool on screen (and those of no pool), oldest first. */
export function poolEvents(snapshot: EngineSnapshot, pool: PoolSnapshot | undefined): EngineSnapshot['events'] {
  return snapshot.events.filter((e) => e.pool === undefined || e.pool === pool?.name);
}

/**
 * Binds the keymap to `control` for the pool and backend on screen. `stopping()` says whether
 * velo is stopping (then only the stop keys act); `pages()` gives the page sizes of the lists.
 */
export function useDashboard(
  getSnapshot: () => EngineSnapshot,
  control: DashboardControl,
  stopping: () => boolean,
  pages: () => PageSizes,
): DashboardView & { chooseStrategy(name: string): void } {
  const state = useRef<UiState>({ poolIndex: 0, selected: 0, mode: { kind: 'main' }, logsVisible: false, logFilter: undefined, notice: undefined });
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const set = (patch: Partial<UiState>): void => {
    state.current = { ...state.current, ...patch };
    rerender();
  };
  const note = (text: string, level: Notice['level'] = 'info'): void => set({ notice: { text, level } });
  const attempt = <T,>(run: () => T | Promise<T>, success: (value: T) => string): void =>
    settle(run, (value) => note(success(value)), (err) => note(messageOf(err), 'error'));
  const current = (): DashboardView => viewOf(getSnapshot(), state.current);
  const withBackend = (act: (pool: PoolSnapshot, backend: BackendSnapshot) => void): void => {
    const { pool, backend } = current();
    if (pool === undefined || backend === undefined) return note('no backend selected: press a to add one', 'error');
    act(pool, backend);
  };
  const pickStrategy = (index: number): void => {
    const { pool } = current();
    const name = STRATEGY_NAMES[index];
    if (state.current.mode.kind === 'picker') set({ mode: { kind: 'main' } });
    if (pool === undefined || name === undefined) return;
    attempt(() => control.setStrategy(pool.name, name, ACTOR), (chosen) => `strategy of pool ${pool.name}: ${chosen}`);
  };
  const submitAdd = (edit: LineEdit): void => {
    const { pool } = current();
    const input = parseAddInput(edit.text);
    if (!input.ok) return set({ mode: { kind: 'add', edit, error: input.error } });
    if (pool === undefined) return set({ mode: { kind: 'add', edit, error: 'there is no pool to add to' } });
    settle(
      () => control.addBackend(pool.name, { url: input.url, weight: input.weight }, ACTOR),
      (added) => set({ mode: { kind: 'main' }, selected: pool.backends.length, notice: { text: `added ${added.name} to pool ${pool.name}`, level: 'info' } }),
      (err) => set({ mode: { kind: 'add', edit, error: messageOf(err) } }),
    );
  };
  const submitTest = (edit: LineEdit): void => {
    const count = parseTestCount(edit.text);
    if (!count.ok) return set({ mode: { kind: 'test', edit, error: count.error } });
    const pool = current().pool?.name;
    set({ mode: { kind: 'main' }, notice: { text: `sending ${count.value} test ${count.value === 1 ? 'request' : 'requests'} through velo…`, level: 'busy' } });
    attempt(() => control.sendTestRequests(count.value, pool), formatTestResult);
  };
  /** Enter in the filter input: a valid filter replaces the old one (an empty one clears it); an invalid one leaves it. */
  const submitFilter = (edit: LineEdit): void => {
    const parsed = parseRecordFilter(edit.text);
    if (!parsed.ok) return set({ mode: { kind: 'filter', edit, error: parsed.error } });
    if (parsed.filter.terms.length === 0) return set({ mode: { kind: 'main' }, logFilter: undefined, notice: { text: 'log filter cleared: every line shows', level: 'info' } });
    const text = formatRecordFilter(parsed.filter);
    set({ mode: { kind: 'main' }, logFilter: { text, filter: parsed.filter }, notice: { text: `log filter: ${text}`, level: 'info' } });
  };
  /** Moves the selection of the list on screen (backends, or events in the event view) by `by`, clamped. */
  const move = (by: number): void => {
    const { mode } = state.current;
    if (mode.kind === 'events') {
      const count = poolEvents(getSnapshot(), current().pool).length;
      return set({ mode: { kind: 'events', fromNewest: Math.max(0, Math.min(count - 1, mode.fromNewest - by)) } });
    }
    const { pool, selected } = current();
    set({ selected: Math.max(0, Math.min((pool?.backends.length ?? 1) - 1, selected + by)) });
  };
  const page = (): number => Math.max(1, state.current.mode.kind === 'events' ? pages().events : pages().table);
  const stop = (source: StopSource): void => {
    set({ mode: { kind: 'main' } });
    attempt(() => control.stop(source), () => 'stopping velo');
  };

  const actions: Record<ActionId, (keyName: string) => void> = {
    'select-previous': () => move(-1),
    'select-next': () => move(1),
    'page-up': () => move(-page()),
    'page-down': () => move(page()),
    'select-first': () => move(-Infinity),
    'select-last': () => move(Infinity),
    'open-picker': () => {
      const { pool } = current();
      if (pool === undefined) return note('there is no pool to set a strategy for', 'error');
      set({ mode: { kind: 'picker', pool: pool.name, current: pool.strategy } });
    },
    'pick-strategy': (keyName) => pickStrategy(Number(keyName) - 1),
    'toggle-drain': () =>
      withBackend((p, b) =>
        b.draining
          ? attempt(() => control.undrain(p.name, b.id, ACTOR), () => `undrained ${b.name}: it takes new requests again`)
          : attempt(() => control.drain(p.name, b.id, ACTOR), () => `draining ${b.name}: no new requests, in-flight ones finish`),
      ),
    'toggle-maintenance': () =>
      withBackend((p, b) =>
        b.maintenance
          ? attempt(
              () => control.setMaintenance(p.name, b.id, false, ACTOR),
              // Still draining (or failing its checks), it takes nothing: say what it is now.
              () => (b.draining ? `${b.name} out of maintenance, still draining: d undrains it` : `${b.name} out of maintenance: it takes requests again`),
            )
          : attempt(() => control.setMaintenance(p.name, b.id, true, ACTOR), () => `${b.name} in maintenance: no requests at all, health checks go on`),
      ),
    'ask-save': () => {
      const source = getSnapshot().configSource;
      // Nothing to write into: say so (and what to do) before listing anything or asking.
      if (source === undefined) return note('no config file to save into: velo was started without one (velo init FILE, then start with -c FILE)', 'error');
      const file = fileLabel(source);
      settle(
        () => control.configDiff(),
        (entries) => {
          // Another key may have opened a screen while the list was on its way.
          if (state.current.mode.kind !== 'main') return;
          if (entries.length === 0) return note(`no runtime changes to save: ${file} holds the running config`);
          set({ mode: { kind: 'save', file, changes: entries.map((e) => e.change) } });
        },
        (err) => note(messageOf(err), 'error'),
      );
    },
    'weight-up': () => withBackend((p, b) => attempt(() => control.setWeight(p.name, b.id, b.weight + 1, ACTOR), (u) => `weight of ${b.name}: ${u.weight}`)),
    'weight-down': () => withBackend((p, b) => attempt(() => control.setWeight(p.name, b.id, b.weight - 1, ACTOR), (u) => `weight of ${b.name}: ${u.weight}`)),
    'add-backend': () => (current().pool === undefined ? note('there is no pool to add to', 'error') : set({ mode: { kind: 'add', edit: lineEdit() } })),
    'remove-backend': () => {
      const { pool, backend } = current();
      if (pool === undefined || backend === undefined) return note('no backend selected: press a to add one', 'error');
      set({ mode: { kind: 'confirm', pool: pool.name, backend } });
    },
    'test-requests': () => set({ mode: { kind: 'test', edit: lineEdit(String(DEFAULT_TEST_REQUESTS)) } }),
    'open-events': () => set({ mode: { kind: 'events', fromNewest: 0 } }),
    'next-pool': () => {
      const { pool, poolIndex } = current();
      const pools = getSnapshot().pools.length;
      if (pools < 2) return note(`pool ${pool?.name ?? '-'} is the only pool`);
      set({ poolIndex: (poolIndex + 1) % pools, selected: 0, notice: undefined });
    },
    'toggle-logs': () => set({ logsVisible: !state.current.logsVisible }),
    'open-filter': () => set({ logsVisible: true, mode: { kind: 'filter', edit: lineEdit(state.current.logFilter?.text ?? '') } }),
    'toggle-help': () => set({ mode: state.current.mode.kind === 'help' ? { kind: 'main' } : { kind: 'help' } }),
    'ask-quit': () => set({ mode: { kind: 'quit' } }),
    stop: (keyName) => stop(keyName === 'y' ? 'q' : 'ctrl-c'),
    submit: () => {
      const { mode } = state.current;
      if (mode.kind === 'add') submitAdd(mode.edit);
      if (mode.kind === 'test') submitTest(mode.edit);
      if (mode.kind === 'filter') submitFilter(mode.edit);
    },
    edit: (keyName) => {
      const { mode } = state.current;
      if (mode.kind === 'add' || mode.kind === 'test' || mode.kind === 'filter') set({ mode: { ...mode, edit: applyEditKey(mode.edit, keyName) } });
    },
    confirm: () => {
      const { mode } = state.current;
      if (mode.kind === 'save') {
        set({ mode: { kind: 'main' }, notice: { text: `writing ${mode.changes.length === 1 ? '1 change' : `${mode.changes.length} changes`} into ${mode.file}…`, level: 'busy' } });
        return settle(
          () => control.saveConfig(ACTOR),
          (r) =>
            note(
              r.saved === 0
                ? `nothing to save: ${configLabel(r.file)} already holds the running config`
                : `saved ${r.saved} runtime change${r.saved === 1 ? '' : 's'} into ${configLabel(r.file)}, its comments kept`,
            ),
          (err) => note(`not saved: ${oneLine(messageOf(err))}`, 'error'),
        );
      }
      if (mode.kind !== 'confirm') return;
      set({ mode: { kind: 'main' } });
      attempt(() => control.removeBackend(mode.pool, mode.backend.id, ACTOR), () => `removed ${mode.backend.name}`);
    },
    cancel: () => {
      const { mode } = state.current;
      if (mode.kind === 'filter') {
        return set({ mode: { kind: 'main' }, logFilter: undefined, notice: state.current.logFilter === undefined ? undefined : { text: 'log filter cleared: every line shows', level: 'info' } });
      }
      const notice: Notice | undefined =
        mode.kind === 'confirm'
          ? { text: `kept ${mode.backend.name}`, level: 'info' }
          : mode.kind === 'picker'
            ? { text: `strategy unchanged: ${mode.current}`, level: 'info' }
            : mode.kind === 'quit'
              ? { text: 'still running', level: 'info' }
              : mode.kind === 'save'
                ? { text: `nothing written: the runtime changes stay out of ${mode.file}`, level: 'info' }
                : undefined;
      set({ mode: { kind: 'main' }, notice });
    },
    widget: () => {},
  };
  const scope = (): ScreenScope => (stopping() ? 'stopping' : state.current.mode.kind);
  useKeymap(scope, {
    onAction: (action, keyName) => actions[action](keyName),
    onText: (text) => {
      const { mode } = state.current;
      if (mode.kind === 'add' || mode.kind === 'test' || mode.kind === 'filter') set({ mode: { ...mode, edit: insertText(mode.edit, text), error: undefined } });
    },
  });
  return { ...current(), chooseStrategy: (name) => pickStrategy(STRATEGY_NAMES.indexOf(name as StrategyName)) };
}
