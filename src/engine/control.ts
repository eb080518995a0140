/**
 * The operations the dashboard, the admin API and the CLI share: add, remove, drain, undrain,
 * set weight, set strategy, maintenance on/off, reload, and the config diff and save. Each
 * validates first and changes nothing when it throws a `VeloError` (`E_NOT_FOUND`,
 * `E_CONFLICT`, `E_BAD_REQUEST`, `E_CONFIG`); each success is an event in the engine's log.
 * Every runtime change is recorded in the engine's overlay (overlay.ts), which a reload keeps
 * where the file did not change the same item.
 */
import { createHash } from 'node:crypto';
import { describeStrategies, resolveStrategyName } from '../balancing/registry.js';
import { backendUrlProblem, normalizeBackendUrl } from '../config/schema.js';
import type { BackendConfig, PoolConfig, StrategyName, VeloConfig } from '../config/types.js';
import { ConfigError, VeloError } from '../errors.js';
import { ownedByStrictDns } from '../config/schema-dns.js';
import { backendRef } from '../metrics/event-log.js';
import type { Pool } from '../upstream/pool.js';
import { PROVIDER_SOURCES, type BackendSource, type Upstream } from '../upstream/upstream.js';
import type { Engine } from './engine.js';
import { upstreamTlsIssues } from '../upstream/upstream-tls.js';
import { protocolSchemeProblem } from '../config/schema-protocol.js';
import { describeChange, type OverlayEntry, type OverlayReport } from './overlay.js';
import { saveChanges, type SaveResult } from './config-save.js';

/** One backend a discovery provider wants in a pool (Control.reconcileSource). */
export interface DesiredBackend {
  url: string;
  weight: number;
  name?: string;
  /** Out of rotation (a paused container), still health-checked. */
  maintenance?: boolean;
}

/** Who asked, for the event log; `cluster` is a change another velo instance made (Redis). */
export type Actor = 'dashboard' | 'api' | 'cli' | 'signal' | 'file-watch' | 'cluster';

/**
 * One runtime change as data, as `Control` made it: what the cluster feed publishes to other
 * instances and `applyChange` replays. `backend` is the backend id (normalized URL).
 */
export type RuntimeChange =
  | { op: 'add'; pool: string; url: string; weight: number; name?: string }
  | { op: 'remove'; pool: string; backend: string }
  | { op: 'drain'; pool: string; backend: string; on: boolean }
  | { op: 'maintenance'; pool: string; backend: string; on: boolean }
  | { op: 'weight'; pool: string; backend: string; weight: number }
  | { op: 'strategy'; pool: string; strategy: StrategyName };

/** Told of every runtime change that took effect (not of no-ops), after it took effect. */
export type ChangeListener = (change: RuntimeChange, actor: Actor) => void;

/** What a reload changed: backends added, removed and kept, pools, and what became of the runtime changes. */
export interface ReloadResult {
  added: number;
  removed: number;
  kept: number;
  pools: number;
  /** Runtime changes kept (the file left their item alone) and those the file overrode, named. */
  runtime: OverlayReport;
}

/** One runtime change not in the file, as `GET /api/config/diff` and `velo config diff` show it. */
export interface ConfigDiffEntry {
  pool: string;
  /** Backend id, or null for a pool setting. */
  backend: string | null;
  /** The backend's name (when the change was made) and URL, as in every backend object; null for a pool setting. */
  name: string | null;
  url: string | null;
  field: OverlayEntry['field'];
  /** The running value (for an added backend: its settings). */
  runtime: unknown;
  /** The file's value; null when the file does not list the backend. */
  file: unknown;
  /** In words, e.g. `weight 5 on b2 in pool web`. */
  change: string;
}

export type { SaveResult };

export const MAX_WEIGHT = 1000;

export class Control {
  /** Told of every runtime change (the Redis change feed publishes them). */
  readonly changeListeners: ChangeListener[] = [];
  /** Told after every `applyConfig` (a reload): the workers' config must follow. */
  readonly applyListeners: Array<() => void> = [];
  /**
   * Resolves once every change made so far is in force where requests are forwarded: at once
   * in one process; with workers, once every worker acknowledged it (set by the primary).
   * Callers that answer "done" (admin API, CLI, dashboard) await it.
   */
  settled: () => Promise<void> = () => Promise.resolve();

  constructor(
    private readonly engine: Engine,
    /** Re-reads the config the instance started from (file, env, flags); set by the CLI. */
    public reloader?: () => Promise<VeloConfig>,
  ) {}

  pool(name: string): Pool {
    const pool = this.engine.pools.find((p) => p.name === name);
    if (pool === undefined) throw new VeloError('E_NOT_FOUND', `no pool named "${name}"`);
    return pool;
  }

  backend(poolName: string, ref: string): Upstream {
    const upstream = this.pool(poolName).find(ref);
    if (upstream === undefined) throw new VeloError('E_NOT_FOUND', `no backend "${ref}" in pool "${poolName}"`);
    return upstream;
  }

  addBackend(poolName: string, input: { url: string; weight?: number; name?: string }, actor: Actor = 'api'): Upstream {
    const pool = this.pool(poolName);
    const problem = typeof input.url === 'string' ? backendUrlProblem(input.url) : { message: 'url is required', hint: 'e.g. http://127.0.0.1:8081' };
    if (problem !== undefined) throw new VeloError('E_BAD_REQUEST', `${problem.message} (${problem.hint})`);
    const mismatch = protocolSchemeProblem(pool.config.protocol, input.url);
    if (mismatch !== undefined) throw new VeloError('E_BAD_REQUEST', `pool "${poolName}": ${mismatch.message} (${mismatch.hint})`);
    const weight = input.weight ?? 1;
    checkWeight(weight);
    const id = normalizeBackendUrl(input.url);
    if (ownedByStrictDns(pool.config, { url: id, weight })) {
      // In strict mode a name is its addresses, which only the DNS provider adds (docs/discovery.md).
      throw new VeloError('E_BAD_REQUEST', `pool "${poolName}" resolves host names in DNS strict mode: add an address such as http://10.0.0.7:8080, or the name in the config file`);
    }
    if (pool.upstreams.some((u) => u.id === id)) throw new VeloError('E_CONFLICT', `${id} is already in pool "${poolName}"`);
    if (input.name !== undefined && pool.upstreams.some((u) => u.name === input.name)) {
      throw new VeloError('E_CONFLICT', `a backend named "${input.name}" is already in pool "${poolName}"`);
    }
    const upstream = pool.add({ url: input.url, weight, name: input.name });
    upstream.source = 'runtime';
    this.engine.watch(pool, upstream);
    const overlay = this.engine.overlay;
    overlay.record(pool.name, id, upstream.name, 'listed', true, { url: id, weight, ...(input.name !== undefined ? { name: input.name } : {}) });
    // Re-adding a backend the file lists: only a weight different from the file's is a change.
    overlay.record(pool.name, id, upstream.name, 'weight', weight);
    this.event(actor, `added ${upstream.name} (weight ${weight})`, pool, upstream);
    this.changed({ op: 'add', pool: pool.name, url: id, weight, ...(input.name !== undefined ? { name: input.name } : {}) }, actor);
    return upstream;
  }

  /** Drain, then forget: no new requests at once; in-flight ones finish before the pool closes. */
  removeBackend(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const pool = this.pool(poolName);
    const upstream = this.backend(poolName, ref);
    if (PROVIDER_SOURCES.has(upstream.source)) {
      throw new VeloError('E_CONFLICT', `${upstream.name} comes from ${upstream.source} discovery and would come back: remove it at its source (or drain it, or put it in maintenance)`);
    }
    this.forget(pool, upstream);
    this.engine.overlay.record(pool.name, upstream.id, upstream.name, 'listed', false);
    this.event(actor, `removed ${upstream.name}`, pool, upstream);
    this.changed({ op: 'remove', pool: pool.name, backend: upstream.id }, actor);
    return upstream;
  }

  drain(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    if (!upstream.draining) {
      upstream.draining = true;
      this.engine.overlay.record(poolName, upstream.id, upstream.name, 'drain', true);
      this.event(actor, `draining ${upstream.name} (${upstream.inFlight} in flight)`, this.pool(poolName), upstream);
      this.changed({ op: 'drain', pool: poolName, backend: upstream.id, on: true }, actor);
    }
    return upstream;
  }

  undrain(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    if (upstream.draining) {
      upstream.draining = false;
      this.engine.overlay.record(poolName, upstream.id, upstream.name, 'drain', false);
      this.event(actor, `undrained ${upstream.name}`, this.pool(poolName), upstream);
      this.changed({ op: 'drain', pool: poolName, backend: upstream.id, on: false }, actor);
    }
    return upstream;
  }

  setWeight(poolName: string, ref: string, weight: number, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    checkWeight(weight);
    if (upstream.weight !== weight) {
      upstream.weight = weight;
      const pool = this.pool(poolName);
      this.engine.overlay.record(pool.name, upstream.id, upstream.name, 'weight', weight);
      // Plain round robin is the one strategy that ignores weights (the contract keeps it exact).
      const note = pool.strategyName === 'round-robin' ? '; round-robin ignores weights, weighted-round-robin uses them' : '';
      this.event(actor, `weight of ${upstream.name} set to ${weight}${note}`, pool, upstream);
      this.changed({ op: 'weight', pool: pool.name, backend: upstream.id, weight }, actor);
    }
    return upstream;
  }

  setStrategy(poolName: string, input: string, actor: Actor = 'api'): StrategyName {
    const pool = this.pool(poolName);
    const name = typeof input === 'string' ? resolveStrategyName(input) : undefined;
    if (name === undefined) throw new VeloError('E_BAD_REQUEST', `unknown strategy "${String(input)}" (valid: ${describeStrategies()})`);
    if (pool.strategyName !== name) {
      pool.setStrategy(name);
      this.engine.overlay.record(pool.name, undefined, undefined, 'strategy', name);
      this.event(actor, `strategy set to ${name}`, pool);
      this.changed({ op: 'strategy', pool: pool.name, strategy: name }, actor);
    }
    return name;
  }

  /**
   * Puts a backend in maintenance (`on`) or takes it out (HAProxy's `disable server` / `enable
   * server`): in maintenance it gets no request, not from sticky clients, not in panic mode;
   * its health checks keep running, so it returns with a known state. In-flight requests finish.
   */
  setMaintenance(poolName: string, ref: string, on: boolean, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    if (upstream.maintenance !== on) {
      upstream.maintenance = on;
      this.engine.overlay.record(poolName, upstream.id, upstream.name, 'maintenance', on);
      const message = on ? `${upstream.name} in maintenance (${upstream.inFlight} in flight finish; checks continue)` : `${upstream.name} out of maintenance`;
      this.event(actor, message, this.pool(poolName), upstream);
      this.changed({ op: 'maintenance', pool: poolName, backend: upstream.id, on }, actor);
    }
    return upstream;
  }

  /**
   * Replays a change made elsewhere (another instance, through the cluster feed) as `actor`.
   * Idempotent: a change already in force (a backend already there or already gone) does
   * nothing. Throws what the matching operation throws (`E_NOT_FOUND` for an unknown pool).
   */
  applyChange(change: RuntimeChange, actor: Actor = 'cluster'): void {
    const pool = this.pool(change.pool);
    switch (change.op) {
      case 'add':
        if (pool.find(change.url) === undefined) this.addBackend(change.pool, { url: change.url, weight: change.weight, name: change.name }, actor);
        return;
      case 'remove':
        if (pool.find(change.backend) !== undefined) this.removeBackend(change.pool, change.backend, actor);
        return;
      case 'drain':
        if (pool.find(change.backend) === undefined) return;
        if (change.on) this.drain(change.pool, change.backend, actor);
        else this.undrain(change.pool, change.backend, actor);
        return;
      case 'maintenance':
        if (pool.find(change.backend) !== undefined) this.setMaintenance(change.pool, change.backend, change.on, actor);
        return;
      case 'weight':
        if (pool.find(change.backend) !== undefined) this.setWeight(change.pool, change.backend, change.weight, actor);
        return;
      case 'strategy':
        this.setStrategy(change.pool, change.strategy, actor);
        return;
    }
  }

  /** The runtime changes not in the config file, oldest first. */
  configDiff(): ConfigDiffEntry[] {
    return this.engine.overlay.list().map((e) => ({
      pool: e.pool,
      backend: e.backend ?? null,
      name: e.label ?? null,
      // A backend's id is its normalized URL (scheme://host[:port]), the same string as its `url`.
      url: e.backend ?? null,
      field: e.field,
      runtime: e.added ?? e.value,
      file: e.base ?? null,
      change: describeChange(e),
    }));
  }

  /**
   * Writes every runtime change into the config file the instance started from, keeping its
   * comments, order and formatting; validated first, written atomically (temp file + rename).
   * Afterwards the file holds them, so the diff is empty; the file watcher does not reload for
   * this write (`isOwnWrite`). Throws `E_BAD_REQUEST` without a config file, `E_CONFLICT` when
   * the file changed since it was loaded or a change has no place in it, `E_CONFIG` when the
   * result would not validate (nothing is written then).
   */
  async saveConfig(actor: Actor = 'api'): Promise<SaveResult> {
    const file = this.engine.overlay.file.source ?? this.engine.config.source;
    if (file === undefined) throw new VeloError('E_BAD_REQUEST', 'nothing to save to: this instance was started without a config file');
    const entries = this.engine.overlay.list();
    const result = await saveChanges(file, entries);
    if (result.saved === 0) return result;
    this.ownWrites = [...this.ownWrites.slice(-7), result.sha256];
    const next = this.reloader !== undefined ? await this.reloader().catch(() => undefined) : undefined;
    if (next !== undefined) this.engine.overlay.rebase(next);
    else this.engine.overlay.clear();
    const message = `saved ${result.saved} runtime change${result.saved === 1 ? '' : 's'} to ${file} [${actor}]`;
    this.engine.events.add({ kind: 'admin', level: 'info', message });
    this.engine.logger.info('runtime changes saved to the config file', { actor, file, changes: result.changes });
    return result;
  }

  private ownWrites: string[] = [];

  /** True when `text` is what `saveConfig` last wrote: a file-watch event for it is velo's own save, not an edit. */
  isOwnWrite(text: string): boolean {
    return this.ownWrites.includes(sha256(text));
  }

  /** Re-reads the config; a bad file keeps the running config and throws the `ConfigError`. */
  async reload(actor: Actor = 'api'): Promise<ReloadResult> {
    if (this.reloader === undefined) {
      const message = 'nothing to reload: this instance was started without a config file';
      this.engine.events.add({ kind: 'reload', level: 'warn', message: `reload requested by ${actor}: ${message}` });
      throw new VeloError('E_BAD_REQUEST', message);
    }
    let config: VeloConfig;
    let installCertificates: ((actor: Actor) => boolean) | undefined;
    try {
      config = await this.reloader();
      // Validated first, like the file: a broken certificate or key rejects the whole reload.
      checkUpstreamTls(config);
      installCertificates = this.engine.listener?.prepareCertificates(config.listen.tls);
    } catch (err) {
      const reason = err instanceof ConfigError ? err.message : String(err);
      // One line for the event pane: the first problem and how many more; `detail` has them all.
      const lines = reason.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const problems = lines.length > 1 ? lines.slice(1) : lines;
      const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
      this.engine.events.add({ kind: 'reload', level: 'error', message: `reload rejected, old config kept: ${problems[0] ?? reason}${more}`, detail: reason });
      this.engine.logger.error('reload rejected, old config kept', { actor, reason });
      throw err;
    }
    const runtime = this.engine.overlay.rebase(config);
    const result = { ...this.applyConfig(this.engine.overlay.apply(config)), runtime };
    installCertificates?.(actor);
    const parts = [`config reloaded by ${actor}: ${result.pools} ${result.pools === 1 ? 'pool' : 'pools'}, +${result.added} -${result.removed} backends, ${result.kept} kept`];
    if (runtime.kept.length + runtime.overridden.length > 0) parts.push(...runtime.kept, ...runtime.overridden);
    const message = parts.join('; ');
    this.engine.events.add({ kind: 'reload', level: runtime.overridden.length > 0 ? 'warn' : 'info', message });
    this.engine.logger.info('config reloaded', { actor, ...result });
    return result;
  }

  /**
   * Reconciles the running pools with `config` (the file with the runtime changes applied);
   * backends that stay keep stats and connections and take its weight, drain and maintenance.
   */
  applyConfig(config: VeloConfig): Omit<ReloadResult, 'runtime'> {
    const engine = this.engine;
    const result = { added: 0, removed: 0, kept: 0, pools: config.pools.length };
    const old = engine.config;
    if (old.listen.port !== config.listen.port || old.listen.host !== config.listen.host) {
      engine.logger.warn('listen address changes take effect after a restart', { running: old.listen, file: config.listen });
    }
    const next: Pool[] = [];
    for (const pc of config.pools) {
      const existing = engine.pools.find((p) => p.name === pc.name);
      if (existing === undefined) {
        const pool = engine.createPool(pc);
        for (const u of pool.upstreams) engine.watch(pool, u);
        result.added += pool.upstreams.length;
        next.push(pool);
        continue;
      }
      existing.updateConfig(pc);
      this.reconcileBackends(existing, pc, result);
      if (engine.started) engine.syncHealthChecks(existing);
      next.push(existing);
    }
    for (const pool of engine.pools) {
      if (next.includes(pool)) continue;
      for (const u of pool.upstreams) {
        this.forget(pool, u);
        result.removed += 1;
      }
    }
    engine.pools = next;
    engine.router.setPools(next);
    engine.config = { ...config, listen: old.listen, admin: old.admin };
    engine.applyNetworkPolicy(config);
    engine.listener?.setProxyProtocol(config.listen);
    for (const listen of this.applyListeners) listen();
    return result;
  }

  /**
   * Makes the backends that `source` (a discovery provider: `dns`, `docker`) contributes to
   * `poolName` exactly `desired`: new ones are added and health-checked, those gone are drained
   * then forgotten (in-flight requests finish), the others take the desired weight, name-less
   * fields kept. Backends of other sources are untouched; a desired URL another source already
   * lists is skipped (the first source keeps it). Each change is an event by `actor`. Throws
   * `E_NOT_FOUND` for an unknown pool. Returns what changed.
   */
  reconcileSource(poolName: string, source: BackendSource, desired: readonly DesiredBackend[], actor: Actor | BackendSource = source): { added: Upstream[]; removed: Upstream[]; updated: Upstream[] } {
    const pool = this.pool(poolName);
    const want = new Map(desired.map((d) => [normalizeBackendUrl(d.url), d]));
    const result = { added: [] as Upstream[], removed: [] as Upstream[], updated: [] as Upstream[] };
    for (const u of [...pool.upstreams]) {
      if (u.source !== source) continue;
      const d = want.get(u.id);
      if (d === undefined) {
        this.forget(pool, u);
        result.removed.push(u);
        this.sourceEvent(actor, `${u.name} gone from ${source}: draining, then removed`, pool, u);
        continue;
      }
      const maintenance = d.maintenance === true;
      if (u.weight !== d.weight || u.maintenance !== maintenance) {
        u.weight = d.weight;
        u.maintenance = maintenance;
        result.updated.push(u);
        this.sourceEvent(actor, `${u.name} from ${source}: weight ${d.weight}${maintenance ? ', in maintenance' : ''}`, pool, u);
      }
    }
    for (const [id, d] of want) {
      if (pool.upstreams.some((u) => u.id === id)) continue;
      const u = pool.add({ url: d.url, weight: d.weight, name: d.name, ...(d.maintenance === true ? { maintenance: true as const } : {}) });
      u.source = source;
      this.engine.watch(pool, u);
      result.added.push(u);
      this.sourceEvent(actor, `${u.name} added from ${source} (weight ${d.weight})`, pool, u);
    }
    if (result.added.length + result.removed.length + result.updated.length > 0) for (const listen of this.applyListeners) listen();
    return result;
  }

  private sourceEvent(actor: Actor | BackendSource, message: string, pool: Pool, upstream: Upstream): void {
    this.engine.events.add({ kind: 'admin', level: 'info', message: `${message} [${actor}]`, pool: pool.name, ...backendRef(upstream) });
    this.engine.logger.info(message, { actor, pool: pool.name, name: upstream.name, url: upstream.url.origin });
  }

  private reconcileBackends(pool: Pool, pc: PoolConfig, result: { added: number; removed: number; kept: number }): void {
    // In DNS strict mode a named backend is its addresses, which the DNS provider reconciles.
    const wanted = new Map<string, BackendConfig>(pc.backends.filter((b) => !ownedByStrictDns(pc, b)).map((b) => [normalizeBackendUrl(b.url), b]));
    for (const u of [...pool.upstreams]) {
      // Discovered backends follow their provider, not the file.
      if (PROVIDER_SOURCES.has(u.source)) continue;
      const b = wanted.get(u.id);
      if (b === undefined) {
        this.forget(pool, u);
        result.removed += 1;
      } else {
        u.weight = b.weight;
        u.draining = b.drain === true;
        u.maintenance = b.maintenance === true;
        result.kept += 1;
      }
    }
    for (const [id, b] of wanted) {
      if (pool.upstreams.some((u) => u.id === id)) continue;
      this.engine.watch(pool, pool.add(b));
      result.added += 1;
    }
  }

  /** Drain, then forget: out of rotation at once, connections closed once in-flight requests end. */
  private forget(pool: Pool, upstream: Upstream): void {
    upstream.draining = true;
    pool.detach(upstream);
    this.engine.retire(upstream);
  }

  private changed(change: RuntimeChange, actor: Actor): void {
    for (const listen of this.changeListeners) {
      try {
        listen(change, actor);
      } catch (err) {
        this.engine.logger.error('change listener failed', { err });
      }
    }
  }

  private event(actor: Actor, message: string, pool: Pool, upstream?: Upstream): void {
    this.engine.events.add({ kind: 'admin', level: 'info', message: `${message} [${actor}]`, pool: pool.name, ...(upstream && backendRef(upstream)) });
    this.engine.logger.info(message, { actor, pool: pool.name, name: upstream?.name, url: upstream?.url.origin });
  }
}

/** Throws a `ConfigError` when a pool's `tls` files cannot be read or its client pair does not match. */
function checkUpstreamTls(config: VeloConfig): void {
  const issues = config.pools.flatMap((p, i) => (p.tls !== undefined ? upstreamTlsIssues(p.tls, `pools[${i}].tls`) : []));
  if (issues.length > 0) throw new ConfigError(issues, config.source);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function checkWeight(weight: unknown): asserts weight is number {
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
    throw new VeloError('E_BAD_REQUEST', `weight must be an integer from 1 to ${MAX_WEIGHT}, got ${JSON.stringify(weight)}`);
  }
}
