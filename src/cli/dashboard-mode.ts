/**
 * Runs the Ink dashboard over a running engine: logs go to its panes while it is mounted, q or
 * Ctrl-C (or SIGINT/SIGTERM) quits it. If the dashboard cannot render, velo says why on stderr
 * and keeps serving with plain structured logs until a signal.
 */
import { engineStore } from '../../components/store.js';
import type { Logger } from '../log/logger.js';
import { LogRing } from './log-ring.js';
import { untilSignal, type Running } from './start.js';

/** How the dashboard is shown. */
export interface DashboardOptions {
  /** Lines shown above the header. */
  title?: readonly string[];
}

/** Shows the dashboard until the user quits, then resolves; the caller shuts the engine down. */
export async function runDashboard(running: Running, logger: Logger, options: DashboardOptions = {}): Promise<void> {
  const { engine, control } = running;
  const nameOf = (id: string): string | undefined => {
    for (const pool of engine.pools) for (const u of pool.upstreams) if (u.id === id) return u.name;
    return undefined;
  };
  const ring = new LogRing(engine.observers, nameOf);
  const previousSink = logger.sink;
  const stopPublishing = engine.sampler.subscribe(() => ring.publish());
  const restore = (): void => {
    stopPublishing();
    ring.setLive(false);
    logger.sink = previousSink;
  };
  logger.sink = ring.sink;
  try {
    // React's development build costs the proxy's thread about half as much again per frame.
    process.env.NODE_ENV ??= 'production';
    const { mountDashboard } = await import('../../components/mount.js');
    const dashboard = mountDashboard({ store: engineStore(engine), control, logs: ring, title: options.title });
    const onSignal = (): void => dashboard.unmount();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await dashboard.waitUntilExit();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    restore();
  } catch (err) {
    restore();
    logger.error('dashboard failed; serving with plain logs until SIGINT or SIGTERM', { err });
    const signal = await untilSignal();
    logger.info('signal received, draining', { signal });
  }
}
