/**
 * Many velo instances on one Redis (`cluster: { redis, prefix, instance }`), the one entry point
 * the CLI imports, dynamically and only when `cluster` is configured (so without it neither this
 * code nor ioredis is loaded). What is shared:
 *
 * - rate limits: one token bucket per (pool, policy, client IP) in Redis (redis-rate-limit.ts);
 * - runtime changes: add, remove, weight, drain, maintenance, strategy (change-feed.ts);
 * - who is running: heartbeats with each instance's pools and state (peer-directory.ts).
 *
 * Everything else (health checks, circuit breakers, outlier ejection, sticky tables, queues,
 * metrics) stays per instance. Start-up never waits for Redis: the link connects and retries
 * in the background (redis-link.ts) and each part works on local state until it is up.
 */
import { hostname } from 'node:os';
import type { ClusterConfig } from '../../config/types.js';
import type { Control } from '../../engine/control.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../log/logger.js';
import { ChangeFeed } from './change-feed.js';
import { PeerDirectory, peerSummary, type PeerTimings } from './peer-directory.js';
import { RedisLink, type LinkTimings } from './redis-link.js';
import { RATE_LIMIT_TIMEOUT_MS, RedisRateLimit } from './redis-rate-limit.js';

/** Timings, for tests; production uses the defaults of each part. */
export interface RedisClusterOptions {
  link?: Partial<LinkTimings>;
  peers?: Partial<PeerTimings>;
  /** Bound of one rate-limit decision in Redis, ms (default 50). */
  rateLimitTimeoutMs?: number;
}

/** A running cluster membership. */
export interface RedisCluster {
  /** This instance's name among its peers. */
  readonly instance: string;
  readonly link: RedisLink;
  readonly rateLimit: RedisRateLimit;
  readonly feed: ChangeFeed;
  readonly peers: PeerDirectory;
  /** Leaves the peer directory (bounded), stops the timers and disconnects; never rejects. */
  close(): Promise<void>;
}

/**
 * Joins the cluster: installs the shared rate limit (`engine.sharedRateLimit`), the change feed
 * (on `control.changeListeners`) and the peers view (`engine.clusterView`), and connects in
 * the background. Call after `engine.start()` (the default instance name uses the bound port).
 * Resolves at once, whether Redis is up or not.
 */
export async function startRedisCluster(engine: Engine, control: Control, config: ClusterConfig, logger: Logger, options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const instance = config.instance ?? `${hostname()}:${engine.address.port}`;
  let feed: ChangeFeed | undefined;
  let peers: PeerDirectory | undefined;
  const link = new RedisLink({
    url: config.redis,
    instance,
    logger,
    events: engine.events,
    wallClock: engine.wallClock,
    timings: options.link,
    // The heartbeat first: it measures Redis's clock, which stamps the changes the resync pushes.
    onReady: async () => {
      await peers!.beat();
      return feed!.resync();
    },
  });
  const rateLimit = new RedisRateLimit(engine, link, config.prefix, options.rateLimitTimeoutMs ?? RATE_LIMIT_TIMEOUT_MS);
  feed = new ChangeFeed(control, link, { prefix: config.prefix, instance, logger });
  peers = new PeerDirectory(link, { prefix: config.prefix, instance, summary: () => peerSummary(instance, engine.snapshot), wallClock: engine.wallClock, timings: options.peers });
  feed.start();
  engine.sharedRateLimit = rateLimit;
  engine.clusterView = () => ({
    cluster: { instance, connected: link.connected, redis: link.label, rateLimitFallbacks: rateLimit.fallbacks, pendingChanges: feed!.pendingCount },
    peers: peers!.list(),
  });
  let beating = false;
  const timer = setInterval(() => {
    if (beating || !link.ready) return;
    // Up again but the resync failed (or has not run): try it again rather than wait for a reconnect.
    if (!link.connected) return void link.sync();
    beating = true;
    peers!
      .beat()
      .then(
        () => {
          link.noteOutcome(true);
          return feed!.flush();
        },
        (err: Error) => {
          link.noteOutcome(false);
          logger.debug('redis heartbeat failed', { err: err.message });
        },
      )
      .finally(() => {
        beating = false;
      });
  }, peers.timings.everyMs);
  timer.unref();
  // Said once if the first connection does not come up within a connect timeout and a bit.
  const startWatch = setTimeout(() => link.noteStartFailed(), 3000);
  startWatch.unref();
  logger.info('cluster: connecting to redis', { redis: link.label, instance, prefix: config.prefix });
  let closing: Promise<void> | undefined;
  return {
    instance,
    link,
    rateLimit,
    feed,
    peers,
    close: () => {
      closing ??= (async () => {
        clearInterval(timer);
        clearTimeout(startWatch);
        feed!.stop();
        if (engine.sharedRateLimit === rateLimit) engine.sharedRateLimit = undefined;
        await peers!.leave();
        link.close();
      })();
      return closing;
    },
  };
}
