/**
 * A bounded list of the engine's notable events (health and breaker transitions, admin
 * actions, reloads), newest last, for the dashboard's event pane and the admin API.
 */
import type { Upstream } from '../upstream/upstream.js';

/** `cluster`: the Redis link of many instances (connected, lost, back); `discovery`: DNS answers and lookup failures. */
export type EventKind = 'health' | 'circuit' | 'admin' | 'reload' | 'lifecycle' | 'outlier' | 'error' | 'cluster' | 'discovery';
export type EventLevel = 'info' | 'warn' | 'error';

export interface EngineEvent {
  seq: number;
  /** Wall-clock ms. */
  at: number;
  kind: EventKind;
  level: EventLevel;
  message: string;
  /** The whole story when the message is a summary (every problem of a rejected reload, one per line). */
  detail?: string;
  pool?: string;
  /** The backend's id (its normalized URL) when the event concerns one; `name` and `url` come with it. */
  backend?: string;
  /** The backend's name, as in the admin API, the process log and the `name` metric label. */
  name?: string;
  /** The backend's URL (origin), as in the admin API and the process log. */
  url?: string;
  /** True for an event read back from the log store at start-up (before this run). */
  history?: boolean;
}

/** The fields that name a backend in an event: `backend` (id), `name` and `url`, always together. */
export function backendRef(u: Upstream): Required<Pick<EngineEvent, 'backend' | 'name' | 'url'>> {
  return { backend: u.id, name: u.name, url: `${u.url.origin}${u.basePath}` };
}

export class EventLog {
  private readonly items: EngineEvent[] = [];
  private seq = 0;
  private listeners: Array<(e: EngineEvent) => void> = [];

  constructor(
    private readonly capacity = 200,
    private readonly wallClock: () => number = Date.now,
  ) {}

  add(e: Omit<EngineEvent, 'seq' | 'at'>): EngineEvent {
    const event: EngineEvent = Object.freeze({ ...e, seq: ++this.seq, at: this.wallClock() });
    this.items.push(event);
    if (this.items.length > this.capacity) this.items.shift();
    for (const l of this.listeners) l(event);
    return event;
  }

  /**
   * Puts events of an earlier run (read from the log store, oldest first) before everything
   * else, marked `history`, with their own times; listeners are not told (they are not new).
   */
  seedHistory(events: ReadonlyArray<Omit<EngineEvent, 'seq'>>): void {
    const old = events.slice(-this.capacity).map((e) => Object.freeze({ ...e, history: true, seq: 0 }));
    this.items.unshift(...old);
    while (this.items.length > this.capacity) this.items.shift();
    // History gets seq numbers below the live ones: renumber everything in order.
    this.items.forEach((e, i) => (this.items[i] = Object.freeze({ ...e, seq: i + 1 })));
    this.seq = this.items.length;
  }

  /** The most recent `n` events, oldest first. */
  recent(n = this.capacity): readonly EngineEvent[] {
    return this.items.slice(-n);
  }

  subscribe(listener: (e: EngineEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}
