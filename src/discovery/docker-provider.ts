/**
 * Docker discovery: containers labelled `{prefix}.enable=true` join a pool, and velo follows
 * Docker's event stream. Each change turns into one desired set per pool that
 * `Control.reconcileSource(pool, 'docker', ...)` applies (add; drain, then forget); this file
 * never edits a pool. Rules:
 * - a started container joins only after a probe of the pool's `health_check` passed here
 *   (a backend the engine has not checked yet counts as up, so adding it unprobed would send it
 *   traffic before any passing check); failing probes are retried every check interval;
 * - `kill` with a terminating signal (what `docker stop` sends first) takes it out at once, so
 *   it drains while its process still finishes in-flight requests; `die`/`destroy` the same;
 * - `pause` puts it in maintenance, `unpause` takes it out (it was already admitted);
 * - after `start`, `pause`, `unpause` (and `rename`, `update`) the container is inspected, not
 *   listed: the daemon answers an inspect once the change is complete, while its listing can
 *   still show the state before it (seen with Docker 20.10: `pause`, then a listing saying running);
 *   reads run one at a time, in event order;
 * - a reload that changes the pools lists the containers again (one may name a new pool);
 * - a lost connection keeps the current set, says so once (event, log, `velo_provider_up 0`),
 *   and reconnects with backoff (250 ms doubling to 10 s, with jitter); on reconnect it
 *   subscribes to events first and then lists the containers, so no change is missed.
 * Runs in the control plane only; workers receive the backends in their config.
 */
import type { DockerProviderConfig, HealthCheckConfig } from '../config/types.js';
import type { Control, DesiredBackend } from '../engine/control.js';
import type { Engine } from '../engine/engine.js';
import { networkProbe, type ProbeResult } from '../health/active-check.js';
import type { Logger } from '../log/logger.js';
import { DockerApi, type DockerContainer, type DockerEvent } from './docker-api.js';
import { isCandidate, readContainer, type DockerCandidate } from './docker-labels.js';

/** Probes `url` as the pool's health check would; resolves, never rejects. */
export type CandidateProbe = (url: string, config: HealthCheckConfig) => Promise<ProbeResult>;

export interface DockerProviderOptions {
  api?: DockerApi;
  probe?: CandidateProbe;
  /** First reconnect delay (ms); doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
  random?: () => number;
}

/** Signals `docker stop`/`docker kill` send that end the container. */
const TERMINATING = new Set(['15', '9', '2', '3', 'SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'TERM', 'KILL', 'INT', 'QUIT']);
/** Events after which a container is read again (inspect: the daemon's current state). */
const REREAD_ON = new Set(['start', 'restart', 'pause', 'unpause', 'rename', 'update']);
/** Events after which a container no longer runs. */
const GONE_ON = new Set(['die', 'stop', 'destroy']);

const probeCandidate: CandidateProbe = (url, config) => networkProbe({ url: new URL(url) }, config);

export class DockerProvider {
  /** Connected to Docker (events followed, last listing applied); undefined before the first attempt ends. */
  up: boolean | undefined;
  private readonly api: DockerApi;
  private readonly probe: CandidateProbe;
  private candidates = new Map<string, DockerCandidate>();
  /** Containers told to stop (kill with a terminating signal) that are still listed. */
  private readonly stopping = new Set<string>();
  /** `pool url id` of candidates whose probe passed while they stayed candidates. */
  private readonly admitted = new Set<string>();
  private readonly probing = new Map<string, NodeJS.Timeout | true>();
  /** Per container, the problem last said (said again only when it changes). */
  private readonly problemsSaid = new Map<string, string>();
  /** What the last reconcile asked for, per pool. */
  private readonly desired = new Map<string, DesiredBackend[]>();
  private events: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private closed = false;
  /** Docker reads that change `candidates` run one after another, in event order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly control: Control,
    readonly config: DockerProviderConfig,
    private readonly logger: Logger,
    private readonly opts: DockerProviderOptions = {},
  ) {
    this.api = opts.api ?? new DockerApi(config.endpoint);
    this.probe = opts.probe ?? probeCandidate;
  }

  /** Starts following Docker; never rejects and never waits for Docker. */
  start(): void {
    this.poolNames = this.engine.pools.map((p) => p.name).join('\n');
    this.control.applyListeners.push(this.onApply);
    void this.connect();
  }

  private poolNames = '';

  /** After a reload that added, removed or renamed pools, containers labelled for them are read again. */
  private readonly onApply = (): void => {
    const names = this.engine.pools.map((p) => p.name).join('\n');
    if (names === this.poolNames) return;
    this.poolNames = names;
    if (this.up !== true) return;
    this.serial(() => this.list()).catch((err: Error) => this.logger.warn('Docker listing failed', { endpoint: this.config.endpoint, err: err.message }));
  };

  /** Stops following Docker; the backends it added stay (the engine is usually stopping too). */
  async close(): Promise<void> {
    this.closed = true;
    const i = this.control.applyListeners.indexOf(this.onApply);
    if (i >= 0) this.control.applyListeners.splice(i, 1);
    clearTimeout(this.retryTimer);
    this.events?.abort();
    for (const t of this.probing.values()) if (t !== true) clearTimeout(t);
    this.probing.clear();
    await this.queue.catch(() => {});
    await this.api.close();
  }

  /** Runs `fn` after every Docker read queued before it; its result or error is the caller's. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => {}).then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const events = new AbortController();
    this.events = events;
    try {
      await this.api.followEvents(events.signal, (e) => this.onEvent(e), (err) => this.lost(events, err));
      await this.serial(() => this.list());
    } catch (err) {
      events.abort();
      this.lost(events, err as Error);
      return;
    }
    if (this.closed || events.signal.aborted) return;
    const wasDown = this.up === false;
    this.up = true;
    this.attempts = 0;
    const n = this.candidates.size;
    const message = wasDown ? `Docker back: resynced ${n} labelled container${n === 1 ? '' : 's'}` : `Docker provider following ${this.config.endpoint}: ${n} labelled container${n === 1 ? '' : 's'}`;
    this.engine.events.add({ kind: 'lifecycle', level: 'info', message });
    this.logger.info(wasDown ? 'Docker back' : 'Docker provider connected', { endpoint: this.config.endpoint, containers: n });
  }

  /** The event stream (or the listing) failed: keep the set, say so once, retry with backoff. */
  private lost(events: AbortController, err: Error | undefined): void {
    if (this.closed || this.events !== events) return;
    this.events = undefined;
    events.abort();
    if (this.up !== false) {
      const kept = [...this.desired.values()].reduce((n, d) => n + d.length, 0);
      const reason = err?.message ?? 'connection closed';
      this.engine.events.add({ kind: 'lifecycle', level: 'warn', message: `Docker unreachable (${reason}): keeping ${kept} backend${kept === 1 ? '' : 's'}, retrying` });
      this.logger.warn('Docker unreachable: keeping the current backends, retrying', { endpoint: this.config.endpoint, reason, kept });
    }
    this.up = false;
    const minMs = this.opts.retryMinMs ?? 250;
    const maxMs = this.opts.retryMaxMs ?? 10_000;
    const base = Math.min(maxMs, minMs * 2 ** this.attempts);
    this.attempts += 1;
    // Full jitter above half the base: many velos do not reconnect in step.
    const delay = base / 2 + ((this.opts.random ?? Math.random)() * base) / 2;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  private onEvent(e: DockerEvent): void {
    if (e.Type !== 'container') return;
    const id = e.Actor.ID;
    if (e.Action === 'kill') {
      const signal = e.Actor.Attributes?.signal ?? '';
      if (!TERMINATING.has(signal)) return;
      void this.serial(async () => {
        if (!this.candidates.has(id) || this.stopping.has(id)) return;
        this.stopping.add(id);
        this.reconcile();
      });
    } else if (GONE_ON.has(e.Action)) {
      void this.serial(async () => {
        this.stopping.delete(id);
        if (this.candidates.delete(id)) this.reconcile();
      });
    } else if (REREAD_ON.has(e.Action)) {
      this.serial(() => this.reread(id)).catch((err: Error) => {
        // The event stream's own end reports a lost daemon; the next event or reconnect rereads it.
        this.logger.warn('Docker inspect failed', { endpoint: this.config.endpoint, id, err: err.message });
      });
    }
  }

  /** Reads one container again after an event about it, and reconciles. */
  private async reread(id: string): Promise<void> {
    const c = await this.api.inspectContainer(id);
    if (this.closed) return;
    if (c !== undefined && (c.State === 'running' || c.State === 'paused')) this.stopping.delete(id);
    const candidate = c === undefined ? undefined : this.consider(c);
    if (candidate !== undefined) this.candidates.set(id, candidate);
    else this.candidates.delete(id);
    this.reconcile();
  }

  /** A container's candidate, or undefined (not running, not labelled, or a problem, said once). */
  private consider(c: DockerContainer): DockerCandidate | undefined {
    if (c.State !== 'running' && c.State !== 'paused') return undefined;
    const read = readContainer(c, this.config, this.engine.pools[0]?.name ?? 'default');
    if (read === undefined) {
      this.problemsSaid.delete(c.Id);
      return undefined;
    }
    if (!isCandidate(read)) {
      this.sayProblem(read.id, `container ${read.name} cannot join: ${read.problem}`);
      return undefined;
    }
    if (this.engine.pools.every((p) => p.name !== read.pool)) {
      this.sayProblem(read.id, `container ${read.name} cannot join: no pool named "${read.pool}" (${this.config.labelPrefix}.pool)`);
      return undefined;
    }
    this.problemsSaid.delete(c.Id);
    return read;
  }

  /** Lists every labelled container and makes the candidates exactly those (on (re)connect). */
  private async list(): Promise<void> {
    const containers = await this.api.listContainers(`${this.config.labelPrefix}.enable`);
    if (this.closed) return;
    const next = new Map<string, DockerCandidate>();
    const seen = new Set<string>();
    for (const c of containers) {
      seen.add(c.Id);
      const candidate = this.consider(c);
      if (candidate !== undefined) next.set(c.Id, candidate);
    }
    for (const id of [...this.stopping]) if (!seen.has(id)) this.stopping.delete(id);
    for (const id of [...this.problemsSaid.keys()]) if (!seen.has(id)) this.problemsSaid.delete(id);
    this.candidates = next;
    this.reconcile();
  }

  private sayProblem(id: string, message: string): void {
    if (this.problemsSaid.get(id) === message) return;
    this.problemsSaid.set(id, message);
    this.engine.events.add({ kind: 'lifecycle', level: 'warn', message });
    this.logger.warn(message);
  }

  /** Turns the candidates into one desired set per pool and hands each to the reconciler. */
  private reconcile(): void {
    if (this.closed) return;
    const byPool = new Map<string, DesiredBackend[]>(this.engine.pools.map((p) => [p.name, []]));
    const keys = new Set<string>();
    for (const c of this.candidates.values()) {
      if (this.stopping.has(c.id)) continue;
      const list = byPool.get(c.pool);
      if (list === undefined) continue;
      const key = `${c.pool} ${c.url} ${c.id}`;
      keys.add(key);
      const check = this.engine.pools.find((p) => p.name === c.pool)!.config.healthCheck;
      if (!check.enabled) this.admitted.add(key);
      const entry = { url: c.url, weight: c.weight, name: c.name };
      if (this.admitted.has(key)) {
        list.push({ ...entry, maintenance: c.paused });
        continue;
      }
      // Not admitted yet: a paused one, or one already listed (it was restarted), waits in maintenance.
      const listed = this.desired.get(c.pool)?.some((d) => d.url === c.url) === true;
      if (c.paused || listed) list.push({ ...entry, maintenance: true });
      if (!c.paused) this.startProbe(key, c, check);
    }
    for (const key of [...this.admitted]) if (!keys.has(key)) this.admitted.delete(key);
    for (const [key, t] of [...this.probing]) {
      if (keys.has(key)) continue;
      if (t !== true) clearTimeout(t);
      this.probing.delete(key);
    }
    this.desired.clear();
    for (const [pool, list] of byPool) {
      this.desired.set(pool, list);
      try {
        this.control.reconcileSource(pool, 'docker', list, 'docker');
      } catch (err) {
        this.logger.error('Docker reconcile failed', { pool, err });
      }
    }
  }

  private startProbe(key: string, c: DockerCandidate, check: HealthCheckConfig): void {
    if (this.probing.has(key)) return;
    this.probing.set(key, true);
    void this.probe(c.url, check).then((result) => {
      if (this.closed || !this.probing.has(key)) return;
      if (result.ok) {
        this.probing.delete(key);
        this.admitted.add(key);
        this.logger.info('container passed its first health check', { name: c.name, pool: c.pool, url: c.url });
        this.reconcile();
        return;
      }
      this.logger.debug('container not ready yet', { name: c.name, url: c.url, detail: result.detail });
      const timer = setTimeout(() => {
        if (this.probing.get(key) !== timer) return;
        this.probing.delete(key);
        const still = this.candidates.get(c.id);
        if (still !== undefined && !this.stopping.has(c.id) && `${still.pool} ${still.url} ${still.id}` === key) this.startProbe(key, still, this.checkOf(still.pool) ?? check);
      }, Math.min(check.intervalMs, 1000));
      timer.unref();
      this.probing.set(key, timer);
    });
  }

  private checkOf(pool: string): HealthCheckConfig | undefined {
    return this.engine.pools.find((p) => p.name === pool)?.config.healthCheck;
  }
}
