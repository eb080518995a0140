/**
 * A bounded list of the engine's notable events (health and breaker transitions, admin
 * actions, reloads), newest last, for the dashboard's event pane and the admin API.
 */
export type EventKind = 'health' | 'circuit' | 'admin' | 'reload' | 'lifecycle' | 'outlier' | 'error';
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
  backend?: string;
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
