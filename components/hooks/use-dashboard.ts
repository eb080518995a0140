/**
 * The dashboard's interaction state (pool shown, selected backend, mode, log pane, last
 * notice) and what each keymap action does. Every change to velo goes through the control.
 * The state lives in a ref read at the moment a key arrives, so keys typed in one burst see
 * each other's effects before React has rendered.
 */
import { useReducer, useRef } from 'react';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import type { BackendSnapshot, EngineSnapshot, PoolSnapshot } from '../../src/metrics/snapshot.js';
import type { ActionId } from '../keymap.js';
import { parseAddInput } from '../parse-add-input.js';
import type { DashboardControl } from '../store.js';
import { useKeymap } from './use-keymap.js';

/** What the keys currently drive: the table, the help, the add input or the remove question. */
export type Mode =
  | { kind: 'main' }
  | { kind: 'help' }
  | { kind: 'add'; text: string; error?: string }
  | { kind: 'confirm'; pool: string; backend: Pick<BackendSnapshot, 'id' | 'name' | 'url' | 'inFlight'> };

/** The outcome of the last action, for the status line. */
export interface Notice {
  text: string;
  level: 'info' | 'error';
}

interface UiState {
  poolIndex: number;
  selected: number;
  mode: Mode;
  logsVisible: boolean;
  notice: Notice | undefined;
}

/** The interaction state with the pool and backend it points at in the current snapshot. */
export interface DashboardView extends UiState {
  pool: PoolSnapshot | undefined;
  backend: BackendSnapshot | undefined;
}

const ACTOR = 'dashboard';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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

/** Binds the keymap to `control` for the pool and backend on screen; `quit` is called for q and Ctrl-C. */
export function useDashboard(getSnapshot: () => EngineSnapshot, control: DashboardControl, quit: () => void): DashboardView {
  const state = useRef<UiState>({ poolIndex: 0, selected: 0, mode: { kind: 'main' }, logsVisible: false, notice: undefined });
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
    if (pool === undefined || name === undefined) return;
    attempt(() => control.setStrategy(pool.name, name, ACTOR), (chosen) => `strategy of pool ${pool.name}: ${chosen}`);
  };
  const submitAdd = (text: string): void => {
    const { pool } = current();
    const input = parseAddInput(text);
    if (!input.ok) return set({ mode: { kind: 'add', text, error: input.error } });
    if (pool === undefined) return set({ mode: { kind: 'add', text, error: 'there is no pool to add to' } });
    settle(
      () => control.addBackend(pool.name, { url: input.url, weight: input.weight }, ACTOR),
      (added) => set({ mode: { kind: 'main' }, selected: pool.backends.length, notice: { text: `added ${added.name} to pool ${pool.name}`, level: 'info' } }),
      (err) => set({ mode: { kind: 'add', text, error: messageOf(err) } }),
    );
  };
  const move = (by: number): void => {
    const { pool, selected } = current();
    set({ selected: Math.max(0, Math.min((pool?.backends.length ?? 1) - 1, selected + by)) });
  };

  const actions: Record<ActionId, (keyName: string) => void> = {
    'select-previous': () => move(-1),
    'select-next': () => move(1),
    'cycle-strategy': () => {
      const { pool } = current();
      pickStrategy(pool === undefined ? 0 : (STRATEGY_NAMES.indexOf(pool.strategy) + 1) % STRATEGY_NAMES.length);
    },
    'pick-strategy': (keyName) => pickStrategy(Number(keyName) - 1),
    'toggle-drain': () =>
      withBackend((p, b) =>
        b.draining
          ? attempt(() => control.undrain(p.name, b.id, ACTOR), () => `undrained ${b.name}: it takes new requests again`)
          : attempt(() => control.drain(p.name, b.id, ACTOR), () => `draining ${b.name}: no new requests, in-flight ones finish`),
      ),
    'weight-up': () => withBackend((p, b) => attempt(() => control.setWeight(p.name, b.id, b.weight + 1, ACTOR), (u) => `weight of ${b.name}: ${u.weight}`)),
    'weight-down': () => withBackend((p, b) => attempt(() => control.setWeight(p.name, b.id, b.weight - 1, ACTOR), (u) => `weight of ${b.name}: ${u.weight}`)),
    'add-backend': () => (current().pool === undefined ? note('there is no pool to add to', 'error') : set({ mode: { kind: 'add', text: '' } })),
    'remove-backend': () => {
      const { pool, backend } = current();
      if (pool === undefined || backend === undefined) return note('no backend selected: press a to add one', 'error');
      set({ mode: { kind: 'confirm', pool: pool.name, backend } });
    },
    'next-pool': () => {
      const { pool, poolIndex } = current();
      const pools = getSnapshot().pools.length;
      if (pools < 2) return note(`pool ${pool?.name ?? '-'} is the only pool`);
      set({ poolIndex: (poolIndex + 1) % pools, selected: 0, notice: undefined });
    },
    'toggle-logs': () => set({ logsVisible: !state.current.logsVisible }),
    'toggle-help': () => set({ mode: state.current.mode.kind === 'help' ? { kind: 'main' } : { kind: 'help' } }),
    quit,
    submit: () => {
      const { mode } = state.current;
      if (mode.kind === 'add') submitAdd(mode.text);
    },
    erase: () => {
      const { mode } = state.current;
      if (mode.kind === 'add') set({ mode: { kind: 'add', text: mode.text.slice(0, -1) } });
    },
    confirm: () => {
      const { mode } = state.current;
      if (mode.kind !== 'confirm') return;
      set({ mode: { kind: 'main' } });
      attempt(() => control.removeBackend(mode.pool, mode.backend.id, ACTOR), () => `removed ${mode.backend.name}`);
    },
    cancel: () => {
      const { mode } = state.current;
      set({ mode: { kind: 'main' }, notice: mode.kind === 'confirm' ? { text: `kept ${mode.backend.name}`, level: 'info' } : undefined });
    },
  };
  useKeymap(() => state.current.mode.kind, {
    onAction: (action, keyName) => actions[action](keyName),
    onText: (text) => {
      const { mode } = state.current;
      if (mode.kind === 'add') set({ mode: { kind: 'add', text: mode.text + text } });
    },
  });
  return current();
}
