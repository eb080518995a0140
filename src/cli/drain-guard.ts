/**
 * The stop rule, the same for a signal in headless mode and for Ctrl-C or `q` in the dashboard:
 * the first request to stop begins a graceful drain; a second one during the drain says what a
 * third would do; a third cuts what is still in flight at once and velo exits 1 instead of 0
 * (work was lost). Without this, a second SIGTERM or SIGINT fell back to Node's default and
 * killed the process with requests in flight and no word.
 */
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';

/**
 * Counts SIGINT/SIGTERM while `engine` drains; the stop that began the drain was the first.
 * Returns a function that removes the handlers (call it once the engine has stopped).
 */
export function guardDrain(engine: Engine, logger: Logger, deadlineMs: number, clock: () => number = Date.now): () => void {
  let stops = 1;
  const onSignal = (signal: NodeJS.Signals): void => {
    stops += 1;
    const inFlight = engine.requestsInFlight;
    if (stops === 2) {
      const left = Math.max(0, Math.ceil((deadlineMs - clock()) / 1000));
      logger.warn(`still draining: ${inFlight} requests in flight, ${left}s of shutdown_timeout left; ${signal} again cuts them now`, {
        signal,
        inFlight,
        tunnels: engine.tunnels.size,
        secondsLeft: left,
      });
      return;
    }
    logger.error(`forced stop: cutting ${inFlight} requests in flight`, { signal, inFlight, tunnels: engine.tunnels.size });
    engine.forceStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
