/**
 * A named group of backends behind one balancing strategy, chosen by the router. The pool owns
 * the backend list in config order and asks its strategy for a pick; it never does I/O.
 */
import { createStrategy } from '../balancing/registry.js';
import type { PickContext, Strategy } from '../balancing/strategy.js';
import type { BackendConfig, PoolConfig, StrategyName } from '../config/types.js';
import { normalizeBackendUrl } from '../config/schema.js';
import { RetryBudget } from '../resilience/retry-policy.js';
import { Upstream, type UpstreamDeps } from './upstream.js';

export class Pool {
  readonly name: string;
  config: PoolConfig;
  strategy: Strategy;
  /** Backends that can be picked, in config order (removed ones are taken out at once). */
  upstreams: Upstream[] = [];
  readonly retryBudget = new RetryBudget();
  /** Requests waiting for a backend slot (admission queue). */
  queueDepth = 0;

  constructor(
    config: PoolConfig,
    private readonly deps: UpstreamDeps,
  ) {
    this.name = config.name;
    this.config = config;
    this.strategy = createStrategy(config.strategy);
    for (const b of config.backends) this.add(b);
  }

  get strategyName(): StrategyName {
    return this.strategy.name as StrategyName;
  }

  setStrategy(name: StrategyName): void {
    if (name !== this.strategy.name) this.strategy = createStrategy(name);
  }

  /** Picks a backend for one attempt, or undefined when none is eligible. */
  pick(ctx: PickContext): Upstream | undefined {
    if (this.config.panicThreshold > 0 && this.healthyPercent() < this.config.panicThreshold) {
      ctx.ignoreAvailability = true;
    }
    return this.strategy.pick(this.upstreams, ctx) as Upstream | undefined;
  }

  /** Percentage of backends currently available (100 for an empty pool, which cannot panic). */
  healthyPercent(): number {
    if (this.upstreams.length === 0) return 100;
    let available = 0;
    for (const u of this.upstreams) if (u.isAvailable()) available += 1;
    return (available / this.upstreams.length) * 100;
  }

  /** Finds a backend by id (normalized URL), URL in any spelling, or name. */
  find(ref: string): Upstream | undefined {
    let normalized: string | undefined;
    try {
      normalized = normalizeBackendUrl(ref);
    } catch {
      normalized = undefined;
    }
    return this.upstreams.find((u) => u.id === ref || u.id === normalized || u.name === ref);
  }

  /** Adds a backend; the caller has checked that its URL is valid and not a duplicate. */
  add(backend: BackendConfig): Upstream {
    const id = normalizeBackendUrl(backend.url);
    const upstream = new Upstream(id, backend, this.config, this.deps);
    this.upstreams = [...this.upstreams, upstream];
    return upstream;
  }

  /** Takes a backend out of rotation at once; its in-flight requests still finish. */
  detach(upstream: Upstream): void {
    upstream.removed = true;
    this.upstreams = this.upstreams.filter((u) => u !== upstream);
  }

  /** Applies a new pool config; backends are reconciled by the engine, not here. */
  updateConfig(config: PoolConfig): void {
    this.config = config;
    this.setStrategy(config.strategy);
    for (const u of this.upstreams) {
      u.breaker.updateConfig(config.circuitBreaker);
      u.slowStartMs = config.slowStartMs;
    }
  }
}
