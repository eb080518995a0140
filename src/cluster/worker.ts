/**
 * A data-plane worker (node:cluster): it forwards, and nothing else. It builds its engine from
 * the control plane's first `apply`, listens on the shared port, mirrors every state update,
 * and sends back counters (a report per tick), passive verdicts (as per-backend runs: a failure
 * and rate-limit questions leave at the end of the event-loop turn, successes at most
 * VERDICT_HOLD_MS later). Signals are the primary's business: a worker drains when the
 * primary says `stop`, or when the primary is gone.
 */
import { Engine } from '../engine/engine.js';
import { Control } from '../engine/control.js';
import { Logger } from '../log/logger.js';
import { createAccessLog } from '../metrics/access-log.js';
import { LogStore } from '../store/log-store.js';
import { RequestSeries } from '../metrics/prometheus.js';
import type { RequestRecord } from '../engine/request-record.js';
import type { RateLimitRefusal } from '../resilience/rate-limit.js';
import type { SharedRateLimit } from '../resilience/shared-rate-limit.js';
import { isVeloMessage, type PlaneState, type RateLimitAsk, type ToPrimary, type ToWorker } from './messages.js';
import { mirrorState } from './plane-state.js';
import { VerdictBatch } from './verdict-batch.js';
import { WorkerReporter } from './worker-report.js';

/**
 * How long a worker waits for the primary's rate-limit answer before using its own buckets,
 * which hold its 1/N share of the limit (ms). The primary answers in well under 1 ms unless the
 * machine is starved; the wait bounds what a stalled primary can add to a request.
 */
export const RATE_LIMIT_ANSWER_MS = 250;
/** Ms between a worker's reports (the sampler's tick). */
export const REPORT_EVERY_MS = 250;
/**
 * Ms a worker holds successful verdicts before sending them (a failure sends them at once):
 * one message per turn with one entry per request cost the control plane about 19 µs of CPU per
 * request at 2 workers (docs/performance.md, "Workers: scaling and its limits").
 */
export const VERDICT_HOLD_MS = 20;
/** Request records relayed per report at most while the dashboard listens. */
const MAX_RELAYED_RECORDS = 500;

function send(message: ToPrimary): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** Runs this process as a worker until the primary says stop (or disappears); never returns before exit. */
export async function runWorker(): Promise<void> {
  // Ctrl-C reaches the whole process group; the primary decides what a signal means.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'] as const) process.on(sig, () => {});
  const first = await new Promise<Extract<ToWorker, { t: 'apply' }>>((resolve) => {
    const on = (m: unknown): void => {
      if (!isVeloMessage<ToWorker>(m) || m.t !== 'apply') return;
      process.off('message', on);
      resolve(m);
    };
    process.on('message', on);
    // Only now can the first `apply` be received: the primary waits for this.
    send({ velo: 1, t: 'hello' });
  });
  const logger = new Logger(first.config.logLevel, (line, level) => send({ velo: 1, t: 'log', line, level }));
  const verdicts = new VerdictBatch();
  let flushing = false;
  let holding: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(holding);
    holding = undefined;
    if (verdicts.size > 0) send({ velo: 1, t: 'verdicts', verdicts: verdicts.drain() });
    if (asks.length > 0) send({ velo: 1, t: 'rate-limit', asks: asks.splice(0) });
  };
  const flushSoon = (): void => {
    if (flushing) return;
    flushing = true;
    setImmediate(() => {
      flushing = false;
      flush();
    });
  };
  const engine = new Engine({
    config: first.config,
    logger,
    role: 'worker',
    sampleEveryMs: 0,
    stickySecret: Buffer.from(first.stickySecret),
    remoteJudge: (pool, u, verdict, status) => {
      verdicts.add(pool.name, u.id, verdict, status);
      // A failure may open a breaker: it leaves this turn, with the successes before it.
      if (verdict === 'failure') return flushSoon();
      holding ??= setTimeout(flush, VERDICT_HOLD_MS);
    },
  });
  const control = new Control(engine);
  // Listener trouble (certificates, PROXY protocol) is worth the operator's event pane.
  engine.events.subscribe((event) => {
    if (event.level !== 'info' && (event.kind === 'error' || event.kind === 'reload')) send({ velo: 1, t: 'event', event: { kind: event.kind, level: event.level, message: event.message } });
  });
  const series = new RequestSeries();
  engine.observers.push(series.observe);
  const accessLog = createAccessLog(first.config.accessLog, logger);
  if (accessLog !== undefined) engine.observers.push(accessLog.observe);
  // Each worker writes its own records to the store (SQLite WAL takes several writers); events are the primary's.
  const storeConfig = first.config.accessLog.store;
  const logStore = storeConfig === undefined ? undefined : LogStore.start({ path: storeConfig.path, logger });
  if (logStore !== undefined) engine.observers.push(logStore.observe);
  const relayed: RequestRecord[] = [];
  const relay = (r: RequestRecord): void => {
    if (relayed.length < MAX_RELAYED_RECORDS) relayed.push(r);
  };

  // Rate-limit questions go to the primary in one message per turn; a late answer is not waited for.
  const asks: RateLimitAsk[] = [];
  const pending = new Map<number, { resolve: (r: RateLimitRefusal | undefined) => void; timer: NodeJS.Timeout }>();
  let askSeq = 0;
  const shared: SharedRateLimit = {
    take(pool, method, target, clientIp) {
      return new Promise((resolve) => {
        const id = ++askSeq;
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve(engine.pools.find((p) => p.name === pool)?.rateLimiter.take(method, target, clientIp));
        }, RATE_LIMIT_ANSWER_MS);
        pending.set(id, { resolve, timer });
        asks.push({ id, pool, method, target, clientIp });
        flushSoon();
      });
    },
  };
  engine.sharedRateLimit = shared;

  const reporter = new WorkerReporter(() => engine.pools, engine.totals, () => engine.tunnels.size, series);
  let stateVersion = -1;
  const mirror = (state: PlaneState): void => {
    if (state.version < stateVersion) return;
    stateVersion = state.version;
    mirrorState(engine.pools, state, engine.clock(), (u) => reporter.reportedInFlight(u));
  };
  mirror(first.state);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(reportTimer);
    const summary = await engine.stop();
    await accessLog?.close();
    await logStore?.close();
    flush();
    send({ velo: 1, t: 'stopped', summary, report: reporter.build() });
    // Let the IPC message leave before exiting.
    setTimeout(() => process.exit(0), 50).unref();
    process.disconnect?.();
  };

  process.on('message', (m: unknown) => {
    if (!isVeloMessage<ToWorker>(m)) return;
    try {
      switch (m.t) {
        case 'apply': {
          let error: string | undefined;
          try {
            control.applyConfig(m.config);
            engine.listener?.prepareCertificates(m.config.listen.tls)?.('signal');
            mirror(m.state);
          } catch (err) {
            error = (err as Error).message;
          }
          send({ velo: 1, t: 'ack', seq: m.seq, ...(error !== undefined ? { error } : {}) });
          return;
        }
        case 'state':
          return mirror(m.state);
        case 'rate-limit':
          for (const [id, refusal] of m.answers) {
            const p = pending.get(id);
            if (p === undefined) continue;
            pending.delete(id);
            clearTimeout(p.timer);
            p.resolve(refusal);
          }
          return;
        case 'tap': {
          const at = engine.observers.indexOf(relay);
          if (m.on && at === -1) engine.observers.push(relay);
          if (!m.on && at !== -1) engine.observers.splice(at, 1);
          return;
        }
        case 'stop':
          void stop();
          return;
        case 'force-stop':
          engine.forceStop();
          return;
      }
    } catch (err) {
      logger.error('worker message failed', { err, type: m.t });
    }
  });
  // The primary is gone (crashed or killed): finish what is in flight, then go too.
  process.on('disconnect', () => void stop());

  try {
    await engine.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ velo: 1, t: 'failed', message: e.message, ...(e.code !== undefined ? { code: e.code } : {}) });
    setTimeout(() => process.exit(1), 50);
    return;
  }
  const reportTimer = setInterval(() => {
    send({ velo: 1, t: 'report', report: reporter.build() });
    if (relayed.length > 0) send({ velo: 1, t: 'records', records: relayed.splice(0) });
  }, REPORT_EVERY_MS);
  reportTimer.unref();
  send({ velo: 1, t: 'ready', port: engine.address.port });
}
