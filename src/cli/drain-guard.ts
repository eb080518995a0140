/**
 * The stop rule, the same for a signal in headless mode and for Ctrl-C or `q` in the dashboard:
 * the first request to stop begins a graceful drain; a second one during the drain says what a
 * third would do; a third cuts what is still in flight at once and velo exits 1 instead of 0
 * (work was lost). Without this, a second SIGTERM or SIGINT fell back to Node's default and
 * killed the process with requests in flight and no word.
 */
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';

/** Where a drain stands, as the dashboard shows it: stop requests so far, the deadline, whether it was forced. */
export interface DrainState {
  /** Stop requests so far (signals and keys); 1 = the drain began, 2 = warned, 3+ = forced. */
  stops: number;
  /** Wall-clock ms when the drain began and when `shutdown_timeout` ends it. */
  beganAt: number;
  deadlineAt: number;
  /** Requests in flight when the last stop request came. */
  inFlight: number;
  forced: boolean;
}

/** One engine's drain: counts stop requests from any source and tells listeners each time. */
export interface DrainGuard {
  /** Counts one more request to stop (`source` names it in the log: a signal, `ctrl-c`, `q`) and applies the rule. */
  stop(source: string): DrainState;
  state(): DrainState;
  /** Calls `listener` on every later stop request; returns the function that stops listening. */
  subscribe(listener: (state: DrainState) => void): () => void;
}

const guards = new WeakMap<Engine, DrainGuard>();

/** The guard of `engine`'s drain in progress, so the dashboard counts its keys with the same rule; undefined before the drain. */
export function drainGuardOf(engine: Engine): DrainGuard | undefined {
  return guards.get(engine);
}

/**
 * Counts SIGINT/SIGTERM (and `stop()` calls) while `engine` drains; the stop that began the
 * drain was the first. Returns a function that removes the handlers (call it once the engine
 * has stopped).
 */
export function guardDrain(engine: Engine, logger: Logger, deadlineMs: number, clock: () => number = Date.now): () => void {
  const began = clock();
  let current: DrainState = { stops: 1, beganAt: began, deadlineAt: deadlineMs, inFlight: engine.requestsInFlight, forced: false };
  const listeners = new Set<(state: DrainState) => void>();
  const guard: DrainGuard = {
    stop(source) {
      const inFlight = engine.requestsInFlight;
      current = { ...current, stops: current.stops + 1, inFlight };
      if (current.stops === 2) {
        const left = Math.max(0, Math.ceil((deadlineMs - clock()) / 1000));
        logger.warn(`still draining: ${inFlight} requests in flight, ${left}s of shutdown_timeout left; ${source} again cuts them now`, {
          signal: source,
          inFlight,
          tunnels: engine.tunnels.size,
          secondsLeft: left,
        });
      } else {
        logger.error(`forced stop: cutting ${inFlight} requests in flight`, { signal: source, inFlight, tunnels: engine.tunnels.size });
        engine.forceStop();
        current = { ...current, forced: true };
      }
      for (const l of listeners) l(current);
      return current;
    },
    state: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const onSignal = (signal: NodeJS.Signals): void => void guard.stop(signal);
  guards.set(engine, guard);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (guards.get(engine) === guard) guards.delete(engine);
    listeners.clear();
  };
}
