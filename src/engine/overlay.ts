/**
 * Runtime changes as an overlay on the config file. Each change made from the dashboard, the
 * admin API or the CLI is one entry keyed by (pool, backend, field) that remembers the file's
 * value when it was made. On reload the rule is the same for every kind of change: where the
 * new file still has that value, the runtime change is kept; where the file changed that very
 * item, the file wins. HAProxy keeps runtime API changes across a reload only through its
 * server-state file; Envoy's runtime layers override the static bootstrap the same way.
 */
import { normalizeBackendUrl } from '../config/backend-url.js';
import type { BackendConfig, StrategyName, VeloConfig } from '../config/types.js';

/**
 * What a runtime change changed: whether a backend is listed (added or removed), its weight,
 * drain or maintenance flag, or the pool's strategy.
 */
export type OverlayField = 'listed' | 'weight' | 'drain' | 'maintenance' | 'strategy';

/** A field's value: `listed`, `drain` and `maintenance` are booleans, `weight` 1..1000, `strategy` a canonical name. */
export type OverlayValue = boolean | number | string;

/** One runtime change not in the file. */
export interface OverlayEntry {
  pool: string;
  /** Backend id (normalized URL); undefined for the pool's `strategy`. */
  backend?: string;
  /** The backend's display name when the change was made. */
  label?: string;
  field: OverlayField;
  /** The runtime value; for `listed`, true = added at runtime, false = removed. */
  value: OverlayValue;
  /** The file's value when the change was made; undefined = the file did not list the backend (or pool). */
  base: OverlayValue | undefined;
  /** For a backend added at runtime: its settings, later weight, drain and maintenance changes folded in. */
  added?: BackendConfig;
}

/** What a reload did with the runtime changes, one sentence each. */
export interface OverlayReport {
  /** e.g. `kept runtime weight 5 on b2 in pool web`. */
  kept: string[];
  /** e.g. `file now sets strategy least-connections on pool web; runtime strategy random dropped`. */
  overridden: string[];
}

/** The value `config` gives the item (pool, backend, field); undefined when the pool or backend is not there. */
export function fileValue(config: VeloConfig, pool: string, backend: string | undefined, field: OverlayField): OverlayValue | undefined {
  const pc = config.pools.find((p) => p.name === pool);
  if (pc === undefined) return undefined;
  if (field === 'strategy') return pc.strategy;
  const b = pc.backends.find((x) => normalizeBackendUrl(x.url) === backend);
  if (field === 'listed') return b !== undefined;
  if (b === undefined) return undefined;
  if (field === 'weight') return b.weight;
  return field === 'drain' ? b.drain === true : b.maintenance === true;
}

function keyOf(pool: string, backend: string | undefined, field: OverlayField): string {
  return JSON.stringify([pool, backend ?? null, field]);
}

function setFlag(b: BackendConfig, flag: 'drain' | 'maintenance', on: boolean): void {
  if (on) b[flag] = true;
  else delete b[flag];
}

/** The change in words: `weight 5 on b2 in pool web`, `add of b3 to pool web`... */
export function describeChange(e: OverlayEntry): string {
  const where = `on ${e.label ?? e.backend} in pool ${e.pool}`;
  switch (e.field) {
    case 'strategy':
      return `strategy ${String(e.value)} on pool ${e.pool}`;
    case 'listed':
      return e.value ? `add of ${e.label ?? e.backend} to pool ${e.pool}` : `removal of ${e.label ?? e.backend} from pool ${e.pool}`;
    case 'weight':
      return `weight ${String(e.value)} ${where}`;
    case 'drain':
      return `${e.value ? 'drain' : 'undrain'} ${where}`;
    case 'maintenance':
      return `${e.value ? 'maintenance' : 'maintenance off'} ${where}`;
  }
}

function describeOverride(e: OverlayEntry, now: OverlayValue | undefined, next: VeloConfig): string {
  const runtime = e.field === 'listed' ? (e.value ? 'add' : 'removal') : describeChange(e).replace(/ on .*$/, '');
  const dropped = `runtime ${runtime} dropped`;
  const label = e.label ?? e.backend;
  if (!next.pools.some((p) => p.name === e.pool)) return `file no longer has pool ${e.pool}; ${dropped}`;
  if (e.field === 'strategy') return `file now sets strategy ${String(now)} on pool ${e.pool}; ${dropped}`;
  if (e.field === 'listed') return now ? `file now lists ${label} in pool ${e.pool}; ${dropped}` : `file no longer lists ${label} in pool ${e.pool}; ${dropped}`;
  if (now === undefined) return `file no longer lists ${label} in pool ${e.pool}; ${dropped}`;
  return `file now sets ${e.field} ${String(now)} on ${label} in pool ${e.pool}; ${dropped}`;
}

/**
 * The runtime changes of one instance and the file config they are an overlay on. Not
 * thread-safe; owned by the engine and changed only through `Control`.
 */
export class RuntimeOverlay {
  private readonly entries = new Map<string, OverlayEntry>();

  /** @param file The config as the file (with environment and flags) last said, before any runtime change. */
  constructor(public file: VeloConfig) {}

  /** How many runtime changes are not in the file. */
  get size(): number {
    return this.entries.size;
  }

  /** Every runtime change, oldest first. */
  list(): OverlayEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e, ...(e.added ? { added: { ...e.added } } : {}) }));
  }

  /**
   * Records that (pool, backend, field) now has `value` at runtime. A change back to the
   * file's value removes the entry; a change to a backend added at runtime is folded into its
   * add. `added` is the new backend's settings when `field` is `listed` and `value` true.
   */
  record(pool: string, backend: string | undefined, label: string | undefined, field: OverlayField, value: OverlayValue, added?: BackendConfig): void {
    if (backend !== undefined && field !== 'listed') {
      const add = this.entries.get(keyOf(pool, backend, 'listed'));
      if (add?.value === true && add.added !== undefined) {
        if (field === 'weight') add.added.weight = value as number;
        else if (field === 'drain' || field === 'maintenance') setFlag(add.added, field, value === true);
        return;
      }
    }
    if (field === 'listed' && backend !== undefined) {
      // Adding or removing a backend makes its other changes moot.
      for (const [k, e] of this.entries) if (e.pool === pool && e.backend === backend && e.field !== 'listed') this.entries.delete(k);
    }
    const key = keyOf(pool, backend, field);
    const previous = this.entries.get(key);
    const base = previous !== undefined ? previous.base : fileValue(this.file, pool, backend, field);
    if (value === base) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { pool, backend, label, field, value, base, ...(added !== undefined ? { added: { ...added } } : {}) });
  }

  /**
   * Takes a newly read file config as the base: keeps each change whose item `next` left as
   * it was, drops each one whose item `next` changed (the file wins), and says which.
   */
  rebase(next: VeloConfig): OverlayReport {
    const report: OverlayReport = { kept: [], overridden: [] };
    for (const [key, e] of this.entries) {
      const now = fileValue(next, e.pool, e.backend, e.field);
      if (now === e.base) {
        report.kept.push(`kept runtime ${describeChange(e)}`);
      } else {
        report.overridden.push(describeOverride(e, now, next));
        this.entries.delete(key);
      }
    }
    this.file = next;
    return report;
  }

  /** `file` with every runtime change applied: the config the instance actually runs. */
  apply(file: VeloConfig = this.file): VeloConfig {
    const pools = file.pools.map((p) => ({ ...p, backends: p.backends.map((b) => ({ ...b })) }));
    for (const e of this.entries.values()) {
      const pool = pools.find((p) => p.name === e.pool);
      if (pool === undefined) continue;
      if (e.field === 'strategy') {
        pool.strategy = e.value as StrategyName;
        continue;
      }
      const i = pool.backends.findIndex((b) => normalizeBackendUrl(b.url) === e.backend);
      if (e.field === 'listed') {
        if (e.value === false && i >= 0) pool.backends.splice(i, 1);
        if (e.value === true && i < 0 && e.added !== undefined) pool.backends.push({ ...e.added });
        continue;
      }
      const b = pool.backends[i];
      if (b === undefined) continue;
      if (e.field === 'weight') b.weight = e.value as number;
      else setFlag(b, e.field, e.value === true);
    }
    return { ...file, pools };
  }

  /** Forgets every change (they are in the file now). */
  clear(): void {
    this.entries.clear();
  }
}
