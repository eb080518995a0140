/**
 * The rule that makes every instance converge on the same runtime state: **last writer wins,
 * per field**. A runtime change sets one field of the cluster state, named
 * `pool|backend|field` (`listed` for add/remove, `drain`, `maintenance`, `weight`, and
 * `pool||strategy`). Each change is stamped `at` (ms, Redis server time as the instance that
 * made it estimated it: its wall clock plus the offset measured at its last heartbeat), and for
 * one field the entry with the greater `at` wins; equal stamps go to the greater instance name,
 * so every instance picks the same winner. This is a last-writer-wins register per field
 * (Shapiro et al., "A comprehensive study of Convergent and Commutative Replicated Data Types",
 * INRIA RR-7506, 2011, §3.2.1 "LWW-Register").
 *
 * On every (re)connect an instance compares three things: the entries stored in Redis, the
 * entries it has applied or made (`applied`), and its own changes Redis has not stored yet
 * (`pending`, made while it was disconnected). Stored entries newer than what it applied are
 * applied, oldest first (so an add comes before the weight of the same backend); pending
 * entries newer than the stored one are pushed; pending entries that lost are dropped (their
 * field already took the winner's value).
 */
import type { RuntimeChange } from '../../engine/control.js';

/** One runtime change as the cluster stores and publishes it. */
export interface ChangeEntry {
  /** `pool|backend|field` (see `changeField`). */
  field: string;
  change: RuntimeChange;
  /** Ms since the epoch, Redis server time as estimated by `instance`. */
  at: number;
  /** The instance that made the change. */
  instance: string;
}

/** The field of the cluster state a change sets: `pool|backend|listed|drain|maintenance|weight`, or `pool||strategy`. */
export function changeField(change: RuntimeChange): string {
  switch (change.op) {
    case 'add':
      return `${change.pool}|${change.url}|listed`;
    case 'remove':
      return `${change.pool}|${change.backend}|listed`;
    case 'drain':
    case 'maintenance':
    case 'weight':
      return `${change.pool}|${change.backend}|${change.op}`;
    case 'strategy':
      return `${change.pool}||strategy`;
  }
}

/** True when `a` wins over `b` for the same field (`b` undefined: nothing to beat). */
export function isNewer(a: Pick<ChangeEntry, 'at' | 'instance'>, b: Pick<ChangeEntry, 'at' | 'instance'> | undefined): boolean {
  if (b === undefined) return true;
  return a.at > b.at || (a.at === b.at && a.instance > b.instance);
}

/** What a resync does: entries to apply here (oldest first), own entries to push, own entries that lost. */
export interface ResyncPlan {
  apply: ChangeEntry[];
  push: ChangeEntry[];
  dropped: ChangeEntry[];
}

/**
 * The resync of one instance: `stored` as read from Redis, `applied` the latest entry per
 * field this instance made or applied, `pending` its own entries Redis has not stored.
 */
export function resyncPlan(stored: readonly ChangeEntry[], applied: ReadonlyMap<string, ChangeEntry>, pending: ReadonlyMap<string, ChangeEntry>): ResyncPlan {
  const byField = new Map<string, ChangeEntry>();
  for (const e of stored) if (isNewer(e, byField.get(e.field))) byField.set(e.field, e);
  const apply = [...byField.values()].filter((e) => isNewer(e, applied.get(e.field))).sort((a, b) => a.at - b.at || (a.instance < b.instance ? -1 : 1));
  const push: ChangeEntry[] = [];
  const dropped: ChangeEntry[] = [];
  for (const e of pending.values()) (isNewer(e, byField.get(e.field)) ? push : dropped).push(e);
  push.sort((a, b) => a.at - b.at);
  return { apply, push, dropped };
}

/** Parses a stored or published entry; undefined for anything malformed (another version, a hand edit). */
export function parseChangeEntry(text: string): ChangeEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Partial<ChangeEntry>;
  if (typeof e.field !== 'string' || typeof e.at !== 'number' || !Number.isFinite(e.at) || typeof e.instance !== 'string') return undefined;
  const c = e.change as Partial<RuntimeChange> | undefined;
  if (typeof c !== 'object' || c === null || typeof c.pool !== 'string' || typeof c.op !== 'string') return undefined;
  if (!['add', 'remove', 'drain', 'maintenance', 'weight', 'strategy'].includes(c.op)) return undefined;
  // The field is derived, never trusted: an entry stored under a wrong field would never be overwritten.
  const change = c as RuntimeChange;
  if (changeField(change) !== e.field) return undefined;
  return { field: e.field, change, at: e.at, instance: e.instance };
}
