/**
 * Connects a log store to the control plane's engine at start: the event pane is seeded with
 * the last stored events (marked `history`), every new event is stored, and, when this process
 * forwards (no workers), every request record too. Retention runs here and only here.
 */
import type { LogStoreConfig } from '../config/types.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import type { EngineEvent } from '../metrics/event-log.js';
import { LogReader } from './log-reader.js';
import { LogStore, type LogStoreOptions } from './log-store.js';

/** Events of earlier runs shown in the event pane after a restart. */
export const HISTORY_EVENTS = 50;

/** The running store of the control plane; `close()` unsubscribes and writes what is queued. */
export interface AttachedStore {
  store: LogStore;
  close(): Promise<void>;
}

/**
 * Opens the store at `config.path`, seeds `engine.events` and subscribes to it. `records`:
 * also store this process's request records (false when workers forward and write their own).
 * Rejects when the database cannot be opened.
 */
export async function attachLogStore(
  engine: Engine,
  config: LogStoreConfig,
  logger: Logger,
  opts: { records: boolean } & Pick<LogStoreOptions, 'wallClock' | 'slowFlushMs' | 'maxQueued' | 'flushEveryMs'>,
): Promise<AttachedStore> {
  const store = await LogStore.open({
    path: config.path,
    logger,
    retention: { retentionMs: config.retentionMs, maxBytes: config.maxBytes },
    ...opts,
  });
  try {
    const reader = new LogReader(config.path);
    const history = reader.lastEvents(HISTORY_EVENTS);
    reader.close();
    engine.events.seedHistory(history as Array<Omit<EngineEvent, 'seq'>>);
  } catch (err) {
    logger.warn('cannot read event history from the log store', { path: config.path, err });
  }
  // Events recorded before the store opened (start-up warnings) are stored too.
  for (const e of engine.events.recent()) store.addEvent(e);
  const unsubscribe = engine.events.subscribe((e) => store.addEvent(e));
  const observe = store.observe;
  if (opts.records) engine.observers.push(observe);
  void store.enforceRetention();
  return {
    store,
    async close() {
      unsubscribe();
      const i = engine.observers.indexOf(observe);
      if (i >= 0) engine.observers.splice(i, 1);
      await store.close();
    },
  };
}
