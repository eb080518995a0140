/**
 * The operations the dashboard, the admin API and the CLI share: add, remove, drain, undrain,
 * set weight, set strategy, reload. Each validates first and changes nothing when it throws a
 * `VeloError` (`E_NOT_FOUND`, `E_CONFLICT`, `E_BAD_REQUEST`, `E_CONFIG`); each success is an
 * event in the engine's log.
 */
import { describeStrategies, resolveStrategyName } from '../balancing/registry.js';
import { backendUrlProblem, normalizeBackendUrl } from '../config/schema.js';
import type { BackendConfig, PoolConfig, StrategyName, VeloConfig } from '../config/types.js';
import { ConfigError, VeloError } from '../errors.js';
import type { Pool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Engine } from './engine.js';

/** Who asked, for the event log. */
export type Actor = 'dashboard' | 'api' | 'cli' | 'signal' | 'file-watch';

export interface ReloadResult {
  added: number;
  removed: number;
  kept: number;
  pools: number;
}

export const MAX_WEIGHT = 1000;

export class Control {
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
    const weight = input.weight ?? 1;
    checkWeight(weight);
    const id = normalizeBackendUrl(input.url);
    if (pool.upstreams.some((u) => u.id === id)) throw new VeloError('E_CONFLICT', `${id} is already in pool "${poolName}"`);
    if (input.name !== undefined && pool.upstreams.some((u) => u.name === input.name)) {
      throw new VeloError('E_CONFLICT', `a backend named "${input.name}" is already in pool "${poolName}"`);
    }
    const upstream = pool.add({ url: input.url, weight, name: input.name });
    this.engine.watch(pool, upstream);
    this.event(actor, `added ${upstream.name} (weight ${weight})`, pool, upstream);
    return upstream;
  }

  /** Drain, then forget: no new requests at once; in-flight ones finish before the pool closes. */
  removeBackend(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const pool = this.pool(poolName);
    const upstream = this.backend(poolName, ref);
    this.forget(pool, upstream);
    this.event(actor, `removed ${upstream.name}`, pool, upstream);
    return upstream;
  }

  drain(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    if (!upstream.draining) {
      upstream.draining = true;
      this.event(actor, `draining ${upstream.name} (${upstream.inFlight} in flight)`, this.pool(poolName), upstream);
    }
    return upstream;
  }

  undrain(poolName: string, ref: string, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    if (upstream.draining) {
      upstream.draining = false;
      this.event(actor, `undrained ${upstream.name}`, this.pool(poolName), upstream);
    }
    return upstream;
  }

  setWeight(poolName: string, ref: string, weight: number, actor: Actor = 'api'): Upstream {
    const upstream = this.backend(poolName, ref);
    checkWeight(weight);
    if (upstream.weight !== weight) {
      upstream.weight = weight;
      const pool = this.pool(poolName);
      // Plain round robin is the one strategy that ignores weights (the contract keeps it exact).
      const note = pool.strategyName === 'round-robin' ? '; round-robin ignores weights, weighted-round-robin uses them' : '';
      this.event(actor, `weight of ${upstream.name} set to ${weight}${note}`, pool, upstream);
    }
    return upstream;
  }

  setStrategy(poolName: string, input: string, actor: Actor = 'api'): StrategyName {
    const pool = this.pool(poolName);
    const name = typeof input === 'string' ? resolveStrategyName(input) : undefined;
    if (name === undefined) throw new VeloError('E_BAD_REQUEST', `unknown strategy "${String(input)}" (valid: ${describeStrategies()})`);
    if (pool.strategyName !== name) {
      pool.setStrategy(name);
      this.event(actor, `strategy set to ${name}`, pool);
    }
    return name;
  }

  /** Re-reads the config; a bad file keeps the running config and throws the `ConfigError`. */
  async reload(actor: Actor = 'api'): Promise<ReloadResult> {
    if (this.reloader === undefined) {
      const message = 'nothing to reload: this instance was started without a config file';
      this.engine.events.add({ kind: 'reload', level: 'warn', message: `reload requested by ${actor}: ${message}` });
      throw new VeloError('E_BAD_REQUEST', message);
    }
    let config: VeloConfig;
    try {
      config = await this.reloader();
    } catch (err) {
      const reason = err instanceof ConfigError ? err.message : String(err);
      this.engine.events.add({ kind: 'reload', level: 'error', message: `reload rejected, old config kept: ${reason.split('\n').slice(0, 3).join(' ')}`, detail: reason });
      this.engine.logger.error('reload rejected, old config kept', { actor, reason });
      throw err;
    }
    const result = this.applyConfig(config);
    const message = `config reloaded by ${actor}: ${result.pools} ${result.pools === 1 ? 'pool' : 'pools'}, +${result.added} -${result.removed} backends, ${result.kept} kept`;
    this.engine.events.add({ kind: 'reload', level: 'info', message });
    this.engine.logger.info('config reloaded', { actor, ...result });
    return result;
  }

  /** Reconciles the running pools with `config`; backends that stay keep stats and connections. */
  applyConfig(config: VeloConfig): ReloadResult {
    const engine = this.engine;
    const result: ReloadResult = { added: 0, removed: 0, kept: 0, pools: config.pools.length };
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
      if (engine.server !== undefined) engine.syncHealthChecks(existing);
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
    return result;
  }

  private reconcileBackends(pool: Pool, pc: PoolConfig, result: ReloadResult): void {
    const wanted = new Map<string, BackendConfig>(pc.backends.map((b) => [normalizeBackendUrl(b.url), b]));
    for (const u of [...pool.upstreams]) {
      const b = wanted.get(u.id);
      if (b === undefined) {
        this.forget(pool, u);
        result.removed += 1;
      } else {
        u.weight = b.weight;
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

  private event(actor: Actor, message: string, pool: Pool, upstream?: Upstream): void {
    this.engine.events.add({ kind: 'admin', level: 'info', message: `${message} [${actor}]`, pool: pool.name, backend: upstream?.id });
    this.engine.logger.info(message, { actor, pool: pool.name, backend: upstream?.id });
  }
}

function checkWeight(weight: unknown): asserts weight is number {
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
    throw new VeloError('E_BAD_REQUEST', `weight must be an integer from 1 to ${MAX_WEIGHT}, got ${JSON.stringify(weight)}`);
  }
}
