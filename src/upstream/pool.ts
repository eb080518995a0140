/**
 * A named group of backends behind one balancing strategy, chosen by the router. The pool owns
 * the backend list in config order and asks its strategy for a pick; it never does I/O.
 */
import { createStrategy } from '../balancing/registry.js';
import type { PickContext, Strategy } from '../balancing/strategy.js';
import type { BackendConfig, PoolConfig, StrategyName } from '../config/types.js';
import { normalizeBackendUrl } from '../config/schema.js';
import { ownedByStrictDns } from '../config/schema-dns.js';
import { configureDnsLookup } from '../discovery/dns-lookup.js';
import { RetryBudget } from '../resilience/retry-policy.js';
import { AdmissionQueue } from '../resilience/queue.js';
import { OutlierDetector } from '../resilience/outlier-detector.js';
import { RateLimiter } from '../resilience/rate-limit.js';
import { Upstream, type UpstreamDeps } from './upstream.js';

export interface PoolDeps extends UpstreamDeps {
  /** Called when outlier detection ejects a backend. */
  onEject?: (pool: Pool, upstream: Upstream, durationMs: number) => void;
  /**
   * Set in a worker: verdicts go to the control plane, which makes the one breaker and
   * ejection decision for every worker (cluster/worker.ts), instead of being judged here.
   */
  remoteJudge?: (pool: Pool, upstream: Upstream, verdict: 'success' | 'failure', status: number) => void;
}

/**
 * What one finished attempt says about its backend, for the circuit breaker and outlier
 * detection: `failure` (no or a cut response, or a 5xx when the breaker counts them),
 * `success`, or `neutral` (not the backend's doing: the client left, a stale connection).
 */
export type PassiveVerdict = 'success' | 'failure' | 'neutral';

export class Pool {
  readonly name: string;
  config: PoolConfig;
  strategy: Strategy;
  /** Backends that can be picked, in config order (removed ones are taken out at once). */
  upstreams: Upstream[] = [];
  readonly retryBudget = new RetryBudget();
  readonly queue: AdmissionQueue;
  readonly outliers: OutlierDetector;
  readonly rateLimiter: RateLimiter;

  constructor(
    config: PoolConfig,
    private readonly deps: PoolDeps,
  ) {
    this.name = config.name;
    this.config = config;
    this.strategy = createStrategy(config.strategy);
    this.queue = new AdmissionQueue(config.queue);
    this.outliers = new OutlierDetector(config.outlier, deps.clock, (u, ms) => deps.onEject?.(this, u, ms));
    this.rateLimiter = new RateLimiter(config.rateLimit, deps.clock);
    // In DNS strict mode a named backend is its addresses, which the DNS provider adds.
    for (const b of config.backends) if (!ownedByStrictDns(config, b)) this.add(b);
  }

  get strategyName(): StrategyName {
    return this.strategy.name as StrategyName;
  }

  setStrategy(name: StrategyName): void {
    if (name !== this.strategy.name) this.strategy = createStrategy(name);
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  /**
   * Picks a backend for one attempt, or undefined when none is eligible. In panic mode (fewer
   * than `panic_threshold` percent up) health is ignored, but draining backends and those in
   * maintenance stay out (an operator's decision, not a health verdict).
   */
  pick(ctx: PickContext): Upstream | undefined {
    if (this.config.panicThreshold > 0 && this.healthyPercent() < this.config.panicThreshold) {
      ctx.ignoreAvailability = true;
      return this.strategy.pick(this.upstreams.filter((u) => !u.draining && !u.maintenance && u.hasCapacity()), ctx) as Upstream | undefined;
    }
    return this.strategy.pick(this.upstreams, ctx) as Upstream | undefined;
  }

  /** True when the pool could serve but every up backend is at `max_connections`. */
  isSaturated(): boolean {
    let anyUp = false;
    for (const u of this.upstreams) {
      if (!u.isUp()) continue;
      if (u.hasCapacity()) return false;
      anyUp = true;
    }
    return anyUp;
  }

  /**
   * Percentage in service of the backends not taken out on purpose: draining and maintenance
   * are planned, not failures, so they count in neither part (Envoy leaves excluded hosts out
   * of its panic computation). 100 when none is left, which cannot panic.
   */
  healthyPercent(): number {
    let counted = 0;
    let up = 0;
    for (const u of this.upstreams) {
      if (u.draining || u.maintenance) continue;
      counted += 1;
      if (u.isUp()) up += 1;
    }
    return counted === 0 ? 100 : (up / counted) * 100;
  }

  /**
   * Feeds one attempt's verdict to the breaker and outlier detection (`status` 0 = no response),
   * here or, in a worker, to the control plane; `isProbe` is the breaker's token from dispatch.
   */
  judge(u: Upstream, status: number, verdict: PassiveVerdict, isProbe: boolean): void {
    const remote = this.deps.remoteJudge;
    if (remote === undefined) return this.applyVerdict(u, status, verdict, isProbe);
    u.breaker.releaseProbe(isProbe);
    if (verdict !== 'neutral') remote(this, u, verdict, status);
  }

  /** The one decision: the verdict moves the breaker, the status feeds outlier detection. */
  applyVerdict(u: Upstream, status: number, verdict: PassiveVerdict, isProbe: boolean): void {
    if (verdict === 'neutral') return u.breaker.recordNeutral(isProbe);
    if (verdict === 'failure') u.breaker.recordFailure(isProbe);
    else u.breaker.recordSuccess(isProbe);
    this.outliers.record(u, status, this.upstreams);
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
    upstream.onSlotFree = () => this.queue.wakeOne();
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
    this.queue.config = config.queue;
    this.outliers.config = config.outlier;
    this.rateLimiter.config = config.rateLimit;
    configureDnsLookup(config);
    for (const u of this.upstreams) {
      u.breaker.updateConfig(config.circuitBreaker);
      u.slowStartMs = config.slowStartMs;
      u.maxConnections = config.maxConnections;
      u.health.rise = config.healthCheck.rise;
      u.health.fall = config.healthCheck.fall;
    }
  }
}
