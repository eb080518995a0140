/** Reads the dashboard's external stores with `useSyncExternalStore`, so React re-renders only when they publish. */
import { useSyncExternalStore } from 'react';
import type { EngineSnapshot } from '../../src/metrics/snapshot.js';
import type { SnapshotStore } from '../store.js';

/** The latest value of any `{subscribe, getSnapshot}` store. */
export function useStore<T>(store: { subscribe(listener: () => void): () => void; getSnapshot(): T }): T {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** The latest engine snapshot; the component re-renders on each sampler tick. */
export function useSnapshot(store: SnapshotStore): EngineSnapshot {
  return useStore(store);
}
