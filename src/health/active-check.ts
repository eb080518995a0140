/**
 * Active health checks: one timer per backend (so a backend that never answers never delays
 * another), the first probe at start, later probes every `interval` spread by jitter and kept
 * on schedule over any number of cycles, and rise/fall hysteresis before a state changes.
 */
import net from 'node:net';
import { request, Agent } from 'undici';
import type { HealthCheckConfig } from '../config/types.js';
import type { Upstream } from '../upstream/upstream.js';
import type { HealthState } from './hysteresis.js';
import { grpcProbe } from './grpc-check.js';
import { joinBasePath } from '../engine/rewrite-path.js';
import { basePathOf } from '../config/backend-url.js';

export interface ProbeResult {
  ok: boolean;
  durationMs: number;
  detail?: string;
}

export type Probe = (upstream: Upstream, config: HealthCheckConfig) => Promise<ProbeResult>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface HealthCheckerDeps {
  clock: () => number;
  wallClock: () => number;
  random: () => number;
  timers: Timers;
  probe: Probe;
  /** Called after every probe, for metrics. */
  onResult?: (upstream: Upstream, result: ProbeResult) => void;
  /** Called once per state change (never for a repeated result). */
  onTransition: (upstream: Upstream, from: HealthState, to: HealthState, result: ProbeResult) => void;
}

interface Schedule {
  handle: unknown;
  /** Monotonic time the current slot was due, without jitter; the next is one interval later. */
  dueAt: number;
  stopped: boolean;
}

export class HealthChecker {
  private readonly schedules = new Map<Upstream, Schedule>();

  constructor(private readonly deps: HealthCheckerDeps) {}

  /** Starts checking `upstream`: a probe now, then one every interval. */
  watch(upstream: Upstream, config: () => HealthCheckConfig): void {
    if (this.schedules.has(upstream) || !config().enabled) return;
    const schedule: Schedule = { handle: undefined, dueAt: this.deps.clock(), stopped: false };
    this.schedules.set(upstream, schedule);
    const run = (): void => {
      if (schedule.stopped) return;
      const cfg = config();
      void this.check(upstream, cfg).finally(() => {
        if (schedule.stopped) return;
        const now = this.deps.clock();
        // Keep slots on a fixed grid; skip the ones a slow probe overran instead of bursting.
        schedule.dueAt += cfg.intervalMs;
        if (schedule.dueAt < now) schedule.dueAt += Math.ceil((now - schedule.dueAt) / cfg.intervalMs) * cfg.intervalMs;
        const spread = cfg.intervalMs * cfg.jitter * (2 * this.deps.random() - 1);
        schedule.handle = this.deps.timers.setTimeout(run, Math.max(0, schedule.dueAt - now + spread));
      });
    };
    schedule.handle = this.deps.timers.setTimeout(run, 0);
  }

  unwatch(upstream: Upstream): void {
    const schedule = this.schedules.get(upstream);
    if (!schedule) return;
    schedule.stopped = true;
    this.deps.timers.clearTimeout(schedule.handle);
    this.schedules.delete(upstream);
  }

  stop(): void {
    for (const u of [...this.schedules.keys()]) this.unwatch(u);
  }

  get watching(): number {
    return this.schedules.size;
  }

  /** Runs one probe and applies hysteresis; never rejects. */
  async check(upstream: Upstream, config: HealthCheckConfig): Promise<ProbeResult> {
    let result: ProbeResult;
    try {
      result = await this.deps.probe(upstream, config);
    } catch (err) {
      result = { ok: false, durationMs: 0, detail: err instanceof Error ? err.message : String(err) };
    }
    upstream.lastCheck = { at: this.deps.wallClock(), ...result };
    this.deps.onResult?.(upstream, result);
    const from = upstream.health.state;
    const to = upstream.health.record(result.ok);
    if (to !== undefined) this.deps.onTransition(upstream, from, to, result);
    return result;
  }
}

const probeAgent = new Agent({ connections: 2 });

/** What a probe needs of a backend: its URL, and its pool's TLS settings, protocol and resolver. */
export type ProbeTarget = Pick<Upstream, 'url'> & Partial<Pick<Upstream, 'probeDispatcher' | 'lookup' | 'tls'>>;

/**
 * The real probe: an HTTP GET of `path` under the backend URL's base path (`/health` on
 * `http://b/app` is `/app/health`; expected status; over the pool's protocol, so an h2 or h2c
 * pool is checked in HTTP/2), a TCP connect, or a gRPC Health/Check, with a timeout.
 * Also used by discovery providers on a backend not yet in any pool (src/discovery/).
 */
export const networkProbe = async (upstream: ProbeTarget, config: HealthCheckConfig): Promise<ProbeResult> => {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 100) / 100;
  if (config.type === 'grpc') return grpcProbe(upstream, config);
  if (config.type === 'tcp') {
    return await new Promise<ProbeResult>((resolve) => {
      const socket = net.connect({ host: upstream.url.hostname, port: Number(upstream.url.port || (upstream.url.protocol === 'https:' ? 443 : 80)), ...(upstream.lookup !== undefined ? { lookup: upstream.lookup } : {}) });
      socket.setTimeout(config.timeoutMs);
      const done = (ok: boolean, detail?: string): void => {
        socket.destroy();
        resolve({ ok, durationMs: elapsed(), detail });
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false, `timeout after ${config.timeoutMs}ms`));
      socket.once('error', (err) => done(false, err.message));
    });
  }
  try {
    // Under the backend's base path, like every request sent to it (docs/rewriting.md).
    const res = await request(new URL(joinBasePath(basePathOf(upstream.url), config.path), upstream.url.origin), {
      method: 'GET',
      // An https backend is probed with its pool's TLS settings (CA, client certificate, SNI).
      dispatcher: upstream.probeDispatcher ?? probeAgent,
      headers: { 'user-agent': 'velo-health-check' },
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    await res.body.dump();
    const ok = config.expectStatus.some(([lo, hi]) => res.statusCode >= lo && res.statusCode <= hi);
    return { ok, durationMs: elapsed(), detail: ok ? undefined : `status ${res.statusCode}` };
  } catch (err) {
    const e = err as Error & { code?: string };
    const detail = e.name === 'TimeoutError' ? `timeout after ${config.timeoutMs}ms` : (e.code ?? e.message);
    return { ok: false, durationMs: elapsed(), detail };
  }
};
