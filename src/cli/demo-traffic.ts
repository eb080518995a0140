/**
 * Light synthetic traffic for `velo demo`: a steady rate of GETs over a mix of paths, with
 * bounded concurrency. It never queues
 * up work it could not send: when the limit is reached, the missed requests are skipped.
 */
import { Agent, request } from 'undici';

/** Running traffic; `stop` ends it and waits for the requests already sent. */
export interface Traffic {
  readonly sent: number;
  stop(): Promise<void>;
}

/** Knobs of the synthetic traffic. */
export interface TrafficOptions {
  /** Requests in flight at most; default 32. */
  concurrency?: number;
  random?: () => number;
}

const TICK_MS = 50;

/** A path for the next request: half front pages, the rest spread over products and API calls (so url-hash has keys to spread). */
export function demoPath(random: () => number): string {
  const r = random();
  const n = Math.floor(random() * 50);
  if (r < 0.5) return '/';
  if (r < 0.8) return `/products/${n}`;
  return `/api/users/${n}`;
}

/** Sends about `rps` requests a second to `baseUrl` until stopped; `rps` 0 sends nothing. */
export function startTraffic(baseUrl: string, rps: number, options: TrafficOptions = {}): Traffic {
  const concurrency = options.concurrency ?? 32;
  const random = options.random ?? Math.random;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  let inFlight = 0;
  let sent = 0;
  let credit = 0;
  const fire = (): void => {
    inFlight += 1;
    sent += 1;
    request(new URL(demoPath(random), baseUrl), { dispatcher: agent, headers: { 'user-agent': 'velo-demo' } })
      .then((res) => res.body.dump())
      .catch(() => {
        // An error answer or a refused connection is part of the show (the dashboard counts it); nothing to do here.
      })
      .finally(() => {
        inFlight -= 1;
      });
  };
  const timer = setInterval(() => {
    credit = Math.min(credit + (rps * TICK_MS) / 1000, Math.max(1, rps));
    while (credit >= 1 && inFlight < concurrency) {
      credit -= 1;
      fire();
    }
  }, TICK_MS);
  timer.unref();
  return {
    get sent() {
      return sent;
    },
    async stop() {
      clearInterval(timer);
      await agent.close().catch(() => {});
    },
  };
}
