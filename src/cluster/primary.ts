/**
 * The control plane's side of `workers: N`: it forks N forwarding workers (node:cluster) that
 * share the listen port, feeds them versioned state (the config to forward with, then backend
 * states on every change and every tick), makes the one breaker and ejection decision from
 * every worker's passive verdicts, answers their rate-limit questions, adds up their reports,
 * restarts a worker that dies, replaces them one at a time on a rolling restart, and drains
 * them all on shutdown. Layout and message rates: docs/architecture.md.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VeloConfig } from '../config/types.js';
import type { Control } from '../engine/control.js';
import type { DataPlane, WorkerView } from '../engine/data-plane.js';
import type { Engine, StopSummary } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import type { VeloMetrics } from '../metrics/prometheus.js';
import type { RateLimitRefusal } from '../resilience/rate-limit.js';
import { isVeloMessage, type RateLimitAsk, type ToPrimary, type ToWorker, type Verdict } from './messages.js';
import { captureState } from './plane-state.js';
import { REPORT_EVERY_MS } from './worker.js';
import { ReportAggregator } from './worker-report.js';

/** Ms a worker has to acknowledge a config before it is replaced by one that starts with it. */
export const APPLY_ACK_TIMEOUT_MS = 5000;
/** A worker that dies younger than this (ms) is restarted after a growing delay, not at once. */
const YOUNG_DEATH_MS = 2000;

interface Slot {
  worker: Worker;
  pid: number;
  state: WorkerView['state'];
  startedAt: number;
  requests: number;
  inFlight: number;
  /** Set when velo itself stops it (shutdown, rolling restart): its exit is not a death. */
  retiring: boolean;
  /** It said hello: it listens for messages (one sent before would be lost). */
  listening: boolean;
  ready: Promise<number>;
  markReady: (port: number) => void;
  markFailed: (err: Error) => void;
  summary?: StopSummary;
  exited: Promise<void>;
}

/** What the primary needs to start: how many workers, and what their access log writes. */
export interface ClusterOptions {
  workers: number;
  logger: Logger;
  /** The access log the workers write (off when the dashboard owns stdout). */
  accessLog: VeloConfig['accessLog'];
}

/** The forwarding workers of one control plane; the engine's `dataPlane`. */
export class ClusterPrimary implements DataPlane {
  private engine!: Engine;
  private readonly slots = new Map<number, Slot>();
  private readonly stickySecret = randomBytes(32);
  private aggregator!: ReportAggregator;
  private stateVersion = 0;
  private applySeq = 0;
  private readonly acks = new Map<number, { waiting: Set<number>; done: () => void }>();
  private dirty = false;
  private statePending = false;
  private timer: NodeJS.Timeout | undefined;
  private shuttingDown = false;
  private youngDeaths = 0;
  private rolling: Promise<number> | undefined;
  private tapOn = false;
  /** Workers restarted after dying, for the event pane and `velo_worker_restarts_total`. */
  restarts = 0;
  /** Set once the admin API made it: reports feed its request series. */
  metrics: VeloMetrics | undefined;

  constructor(private readonly options: ClusterOptions) {}

  /** Binds this data plane to its control plane (call before `engine.start()`). */
  attach(engine: Engine, control: Control): void {
    this.engine = engine;
    this.aggregator = new ReportAggregator(() => engine.pools, engine.totals, () => this.metrics, engine.clock);
    control.changeListeners.push(() => this.markDirty());
    control.applyListeners.push(() => this.markDirty());
    control.settled = () => this.sync();
    // Breaker, health and ejection decisions reach the workers at once, not a tick later.
    engine.events.subscribe((e) => {
      if (e.kind === 'health' || e.kind === 'circuit' || e.kind === 'outlier') this.stateSoon();
    });
  }

  get requestsInFlight(): number {
    return Math.max(0, this.engine.totals.inFlight - this.aggregator.tunnels);
  }

  queueDepth(pool: string): number {
    return this.aggregator.queueDepth(pool);
  }

  /** The workers now, oldest first. */
  list(): WorkerView[] {
    return [...this.slots.entries()].map(([id, s]) => ({ id, pid: s.pid, state: s.state, startedAt: s.startedAt, requests: s.requests, inFlight: s.inFlight }));
  }

  async start(): Promise<number> {
    // Linux: every worker accepts on the shared socket and the kernel spreads connections
    // (NODE_CLUSTER_SCHED_POLICY=rr makes the primary accept and hand them out instead).
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: workerEntry(), args: [], serialization: 'advanced', silent: false });
    cluster.on('exit', this.onExit);
    const first = Array.from({ length: this.options.workers }, () => this.fork());
    try {
      const ports = await Promise.all(first.map((s) => s.ready));
      this.timer = setInterval(() => this.tick(), REPORT_EVERY_MS);
      this.timer.unref();
      return ports[0]!;
    } catch (err) {
      this.shuttingDown = true;
      for (const s of this.slots.values()) s.worker.kill('SIGKILL');
      await Promise.all([...this.slots.values()].map((s) => s.exited));
      cluster.off('exit', this.onExit);
      throw err;
    }
  }

  /**
   * Resolves once every worker runs the current config: a change since the last call is sent to
   * all of them and each must acknowledge it. A worker that refuses or does not answer within
   * APPLY_ACK_TIMEOUT_MS is replaced by one that starts with that config, so none keeps
   * forwarding with the old one.
   */
  async sync(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const seq = ++this.applySeq;
    const message = this.applyMessage(seq);
    // A worker that has not said hello yet gets the config current at its hello instead.
    const live = [...this.slots.entries()].filter(([, s]) => s.listening && s.state !== 'stopping' && s.worker.isConnected());
    if (live.length === 0) return;
    await new Promise<void>((resolve) => {
      const waiting = new Set(live.map(([id]) => id));
      const timer = setTimeout(() => {
        this.acks.delete(seq);
        for (const id of waiting) this.replace(id, 'did not acknowledge a config change');
        resolve();
      }, APPLY_ACK_TIMEOUT_MS);
      this.acks.set(seq, {
        waiting,
        done: () => {
          clearTimeout(timer);
          this.acks.delete(seq);
          resolve();
        },
      });
      for (const [, s] of live) this.send(s.worker, message);
    });
  }

  /**
   * Replaces every worker, one at a time: a new one is forked and listening before the old one
   * is told to drain, so the port never stops accepting (a new build on disk is picked up).
   * Resolves with how many were replaced; a call during one in progress joins it.
   */
  rollingRestart(): Promise<number> {
    this.rolling ??= (async () => {
      let replaced = 0;
      try {
        for (const [id, old] of [...this.slots.entries()]) {
          if (this.shuttingDown) break;
          if (old.state === 'stopping') continue;
          const next = this.fork();
          await next.ready;
          await this.retire(id, old);
          replaced += 1;
        }
        this.engine.events.add({ kind: 'lifecycle', level: 'info', message: `rolling restart: ${replaced} worker${replaced === 1 ? '' : 's'} replaced, no connection refused` });
        return replaced;
      } finally {
        this.rolling = undefined;
      }
    })();
    return this.rolling;
  }

  async stop(): Promise<StopSummary> {
    this.shuttingDown = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.rolling?.catch(() => 0);
    const slots = [...this.slots.entries()];
    await Promise.all(slots.map(([id, s]) => this.retire(id, s)));
    cluster.off('exit', this.onExit);
    const total: StopSummary = { cut: 0, tunnelsClosed: 0, forced: false, drainMs: 0 };
    for (const [, s] of slots) {
      if (s.summary === undefined) continue;
      total.cut += s.summary.cut;
      total.tunnelsClosed += s.summary.tunnelsClosed;
      total.forced ||= s.summary.forced;
      total.drainMs = Math.max(total.drainMs, s.summary.drainMs);
    }
    return total;
  }

  forceStop(): number {
    const inFlight = this.requestsInFlight;
    for (const s of this.slots.values()) this.send(s.worker, { velo: 1, t: 'force-stop' });
    return inFlight;
  }

  private fork(): Slot {
    const worker = cluster.fork({ VELO_WORKER: '1' });
    let markReady!: (port: number) => void;
    let markFailed!: (err: Error) => void;
    const ready = new Promise<number>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => {});
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const slot: Slot = { worker, pid: worker.process.pid ?? 0, state: 'starting', startedAt: Date.now(), requests: 0, inFlight: 0, retiring: false, listening: false, ready, markReady, markFailed, exited };
    this.slots.set(worker.id, slot);
    worker.on('message', (m: unknown) => this.onMessage(worker.id, slot, m));
    worker.on('error', () => {});
    return slot;
  }

  /** Tells a worker to drain and waits until it exited (killed if it outlives the drain by 5 s). */
  private async retire(id: number, slot: Slot): Promise<void> {
    slot.retiring = true;
    slot.state = 'stopping';
    this.send(slot.worker, { velo: 1, t: 'stop' });
    const kill = setTimeout(() => slot.worker.kill('SIGKILL'), this.engine.config.shutdownTimeoutMs + 5000);
    await slot.exited;
    clearTimeout(kill);
    this.slots.delete(id);
    this.aggregator.remove(id);
  }

  /** Kills a worker that cannot follow the control plane; `onExit` restarts it with the current config. */
  private replace(id: number, reason: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.options.logger.error('worker replaced', { worker: id, pid: slot.pid, reason });
    slot.worker.kill('SIGKILL');
  }

  private readonly onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const slot = this.slots.get(worker.id);
    if (slot === undefined) return;
    if (slot.state === 'starting') slot.markFailed(new Error(`worker ${slot.pid} exited before listening (${signal ?? `code ${code}`})`));
    if (slot.retiring) return;
    this.slots.delete(worker.id);
    this.aggregator.remove(worker.id);
    if (this.shuttingDown) return;
    const how = signal !== null ? `signal ${signal}` : `code ${code}`;
    const young = Date.now() - slot.startedAt < YOUNG_DEATH_MS;
    this.youngDeaths = young ? this.youngDeaths + 1 : 0;
    const delay = young ? Math.min(5000, 100 * 2 ** Math.min(this.youngDeaths, 6)) : 0;
    this.restarts += 1;
    this.engine.events.add({ kind: 'lifecycle', level: 'warn', message: `worker ${worker.id} (pid ${slot.pid}) died (${how}); its in-flight requests were lost; restarting${delay > 0 ? ` in ${delay} ms` : ''}` });
    this.options.logger.warn('worker died, restarting', { worker: worker.id, pid: slot.pid, code, signal, delayMs: delay });
    setTimeout(() => {
      if (!this.shuttingDown) this.fork();
    }, delay).unref();
  };

  private onMessage(id: number, slot: Slot, m: unknown): void {
    if (!isVeloMessage<ToPrimary>(m)) return;
    try {
      switch (m.t) {
        case 'hello':
          slot.listening = true;
          this.send(slot.worker, this.applyMessage(this.applySeq));
          if (this.tapOn) this.send(slot.worker, { velo: 1, t: 'tap', on: true });
          return;
        case 'ready':
          slot.state = slot.retiring ? 'stopping' : 'ready';
          slot.markReady(m.port);
          return;
        case 'failed': {
          const err = new Error(m.message) as NodeJS.ErrnoException;
          if (m.code !== undefined) err.code = m.code;
          slot.markFailed(err);
          return;
        }
        case 'ack': {
          if (m.error !== undefined) this.replace(id, `could not apply the config: ${m.error}`);
          const pending = this.acks.get(m.seq);
          if (pending === undefined) return;
          pending.waiting.delete(id);
          if (pending.waiting.size === 0) pending.done();
          return;
        }
        case 'report':
        case 'stopped':
          this.aggregator.add(id, m.report);
          slot.requests += m.report.totals.requests;
          slot.inFlight = m.report.inFlight;
          if (m.t === 'stopped') slot.summary = m.summary;
          return;
        case 'verdicts':
          return this.judge(m.verdicts);
        case 'rate-limit':
          return void this.answer(slot.worker, m.asks);
        case 'records':
          for (const record of m.records) for (const observe of this.engine.observers) observe(record);
          return;
        case 'log':
          return this.options.logger.sink(m.line, m.level);
        case 'event':
          this.engine.events.add(m.event);
          return;
      }
    } catch (err) {
      this.options.logger.error('worker message failed', { err, worker: id, type: m.t });
    }
  }

  /** Every worker's verdicts feed one breaker and one outlier detector per backend. */
  private judge(verdicts: Verdict[]): void {
    for (const [poolName, id, verdict, status, count] of verdicts) {
      const pool = this.engine.pools.find((p) => p.name === poolName);
      const u = pool?.upstreams.find((x) => x.id === id);
      if (pool === undefined || u === undefined) continue;
      for (let i = 0; i < count; i++) {
        // Reading the state moves an open breaker whose timer ran out to half-open first.
        void u.breaker.state;
        pool.applyVerdict(u, status, verdict, false);
      }
    }
  }

  /** One client's bucket, whichever worker its connection landed on (Redis-backed when configured). */
  private async answer(worker: Worker, asks: RateLimitAsk[]): Promise<void> {
    const shared = this.engine.sharedRateLimit;
    const answers = await Promise.all(
      asks.map(async (a): Promise<[number, RateLimitRefusal | undefined]> => {
        if (shared !== undefined) return [a.id, await shared.take(a.pool, a.method, a.target, a.clientIp)];
        const pool = this.engine.pools.find((p) => p.name === a.pool);
        return [a.id, pool?.rateLimiter.take(a.method, a.target, a.clientIp)];
      }),
    );
    this.send(worker, { velo: 1, t: 'rate-limit', answers });
  }

  private markDirty(): void {
    this.dirty = true;
    // Changes that no caller awaits (a reload by signal, the dashboard) still reach the workers.
    setImmediate(() => void this.sync());
  }

  private stateSoon(): void {
    if (this.statePending) return;
    this.statePending = true;
    setImmediate(() => {
      this.statePending = false;
      this.broadcastState();
    });
  }

  private tick(): void {
    this.broadcastState();
    // Relay request records only while someone (the dashboard's log pane) listens.
    const tap = this.engine.observers.length > 0;
    if (tap !== this.tapOn) {
      this.tapOn = tap;
      for (const s of this.slots.values()) if (s.listening) this.send(s.worker, { velo: 1, t: 'tap', on: tap });
    }
  }

  private broadcastState(): void {
    const state = captureState(this.engine.pools, this.engine.clock(), ++this.stateVersion);
    for (const s of this.slots.values()) if (s.listening) this.send(s.worker, { velo: 1, t: 'state', state });
  }

  /** The config workers forward with: the running pools (runtime changes included) as config. */
  private applyMessage(seq: number): Extract<ToWorker, { t: 'apply' }> {
    const engine = this.engine;
    const n = this.options.workers;
    const config: VeloConfig = {
      ...engine.config,
      accessLog: this.options.accessLog,
      warnings: undefined,
      pools: engine.pools.map((p) => ({
        ...p.config,
        strategy: p.strategyName,
        // max_connections is a global promise: each worker gets an equal share of it.
        maxConnections: p.config.maxConnections > 0 ? Math.max(1, Math.floor(p.config.maxConnections / n)) : 0,
        // The workers ask this process for rate-limit tokens; their own buckets, used only when
        // it does not answer in time, hold a share so that even then the sum stays the limit.
        rateLimit: {
          ...p.config.rateLimit,
          rps: p.config.rateLimit.rps / n,
          burst: Math.max(1, Math.floor(p.config.rateLimit.burst / n)),
          routes: p.config.rateLimit.routes.map((r) => ({ ...r, rps: r.rps / n, burst: Math.max(1, Math.floor(r.burst / n)) })),
        },
        backends: p.upstreams.map((u) => ({
          url: u.id,
          weight: u.weight,
          name: u.name,
          ...(u.draining ? { drain: true as const } : {}),
          ...(u.maintenance ? { maintenance: true as const } : {}),
        })),
      })),
    };
    return { velo: 1, t: 'apply', seq, config, state: captureState(engine.pools, engine.clock(), ++this.stateVersion), stickySecret: this.stickySecret };
  }

  private send(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message, undefined, () => {});
    } catch {
      // A worker that is going away; its exit is handled by onExit.
    }
  }
}

/** The worker program beside this file: `.js` when built, `.ts` under tsx (tests). */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./worker-main${extname(here)}`, import.meta.url));
}
