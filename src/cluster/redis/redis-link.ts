/**
 * The connection of one velo instance to Redis: two ioredis clients (commands, and a second
 * one in subscriber mode, since a subscribed connection takes no other command), the state
 * velo reports (`connected`, metric `velo_cluster_connected`), and the three announcements an
 * operator sees once each: connected, "Redis unreachable: serving on local state" and "Redis
 * back: resynced N changes".
 *
 * Failure behaviour, by construction: the offline queue is off and a command gets one retry,
 * so a command sent while Redis is down fails at once instead of waiting; every command has a
 * `commandTimeout`; reconnection is ioredis's, with a capped exponential backoff; `error`
 * events are always handled (an unhandled one would crash the process). Nothing here throws
 * out of a callback.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { EventLog } from '../../metrics/event-log.js';
import type { Logger } from '../../log/logger.js';
import { redactRedisUrl, redisTarget } from './redis-url.js';

/** Timeouts and backoff of the link, in ms; defaults in `LINK_DEFAULTS`. */
export interface LinkTimings {
  /** Bound of every command (background work: heartbeats, change feed, resync). */
  commandTimeoutMs: number;
  /** Bound of one connection attempt. */
  connectTimeoutMs: number;
  /** First reconnect delay; doubles per attempt up to `maxBackoffMs`, plus up to 100 ms jitter. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** Defaults: a second per background command, two per connection attempt, backoff 100 ms .. 2 s. */
export const LINK_DEFAULTS: LinkTimings = { commandTimeoutMs: 1000, connectTimeoutMs: 2000, minBackoffMs: 100, maxBackoffMs: 2000 };

/** What the link needs from its instance. */
export interface LinkOptions {
  /** `cluster.redis`, as configured (redis://, rediss:// or unix://). */
  url: string;
  /** This instance's name among its peers. */
  instance: string;
  logger: Logger;
  events: EventLog;
  /** Wall-clock ms (the engine's). */
  wallClock?: () => number;
  timings?: Partial<LinkTimings>;
  /**
   * Runs on every (re)connect, once both clients are up and subscribed, before the link reports
   * itself connected (the change feed's resync); resolves to how many changes it exchanged. A
   * rejection leaves the link disconnected until `sync` succeeds (logged, never thrown).
   */
  onReady: () => Promise<number>;
}

/** Consecutive failed background commands on a "ready" connection after which it is recycled. */
const FAILURES_BEFORE_RECYCLE = 2;

/** One instance's Redis connection and its reported state. */
export class RedisLink {
  /** Commands: scripts, hashes, heartbeats. */
  readonly cmd: Redis;
  /** Subscriber mode only (the change channel). */
  readonly sub: Redis;
  /** The configured URL with its password hidden. */
  readonly label: string;
  /** True from a successful resync to the next loss: what velo reports. */
  connected = false;
  private everConnected = false;
  /** True once the current outage (or a failed start) has been announced. */
  private downAnnounced = false;
  private closed = false;
  private subscribed = false;
  private syncing = false;
  /** Bumped on every loss: a resync that spans one does not count. */
  private generation = 0;
  private failures = 0;
  /** Redis server time minus this host's wall clock, ms (from the last heartbeat). */
  private offsetMs = 0;
  private readonly wallClock: () => number;
  private readonly messageHandlers: Array<(channel: string, message: string) => void> = [];
  private readonly channels = new Set<string>();

  constructor(private readonly options: LinkOptions) {
    this.wallClock = options.wallClock ?? Date.now;
    this.label = redactRedisUrl(options.url);
    const t = { ...LINK_DEFAULTS, ...options.timings };
    const common: RedisOptions = {
      ...redisTarget(options.url),
      connectionName: `velo:${options.instance}`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: t.commandTimeoutMs,
      connectTimeout: t.connectTimeoutMs,
      retryStrategy: (times) => Math.min(t.minBackoffMs * 2 ** Math.min(times - 1, 10), t.maxBackoffMs) + Math.floor(Math.random() * 100),
    };
    this.cmd = new Redis(common);
    this.sub = new Redis({ ...common, autoResubscribe: false });
    for (const client of [this.cmd, this.sub]) {
      client.on('error', (err: Error) => this.options.logger.debug('redis connection error', { redis: this.label, err: err.message }));
    }
    this.cmd.on('ready', () => void this.sync());
    this.cmd.on('close', () => this.onLost());
    // Subscribed before the resync reads the stored state, so no change published in between
    // is missed; a subscriber that reconnects alone may have missed some, so it resyncs too.
    this.sub.on('ready', () => {
      Promise.all([...this.channels].map((channel) => this.sub.subscribe(channel))).then(
        () => {
          this.subscribed = true;
          void this.sync();
        },
        (err: Error) => this.options.logger.warn('redis subscribe failed', { err: err.message }),
      );
    });
    this.sub.on('close', () => {
      this.subscribed = false;
      this.onLost();
    });
    this.sub.on('message', (channel: string, message: string) => {
      for (const handle of this.messageHandlers) {
        try {
          handle(channel, message);
        } catch (err) {
          this.options.logger.error('redis message handler failed', { channel, err });
        }
      }
    });
  }

  /** True when a command sent now could be answered (the command connection is up). */
  get ready(): boolean {
    return !this.closed && this.cmd.status === 'ready';
  }

  /** This instance's estimate of Redis server time, ms since the epoch: the wall clock plus the last measured offset. */
  serverNow(): number {
    return this.wallClock() + this.offsetMs;
  }

  /** Records Redis server time `serverMs` as read just now (a heartbeat's TIME). */
  noteServerTime(serverMs: number): void {
    this.offsetMs = serverMs - this.wallClock();
  }

  /**
   * Subscribes to `channel` on every (re)connect; `handle` gets every message of every channel.
   * Call before the connection is up (right after construction), so the first resync follows it.
   */
  subscribe(channel: string, handle: (channel: string, message: string) => void): void {
    this.channels.add(channel);
    this.messageHandlers.push(handle);
    if (this.sub.status === 'ready') this.sub.subscribe(channel).catch((err: Error) => this.options.logger.warn('redis subscribe failed', { channel, err: err.message }));
  }

  /**
   * Counts a background command's outcome. A connection that says "ready" but fails
   * `FAILURES_BEFORE_RECYCLE` commands in a row (a peer that vanished without a FIN) is
   * dropped and reconnected, so the loss is seen and announced.
   */
  noteOutcome(ok: boolean): void {
    if (ok) {
      this.failures = 0;
      return;
    }
    this.failures += 1;
    if (this.failures >= FAILURES_BEFORE_RECYCLE && this.cmd.status === 'ready') {
      this.failures = 0;
      this.options.logger.warn('redis stopped answering; reconnecting', { redis: this.label });
      this.cmd.disconnect(true);
      this.sub.disconnect(true);
    }
  }

  /** Announces a failed first connection once (start-up never waits for Redis). */
  noteStartFailed(): void {
    if (this.everConnected || this.downAnnounced || this.closed) return;
    this.downAnnounced = true;
    const message = `Redis ${this.label} unreachable: serving on local state, retrying`;
    this.options.events.add({ kind: 'cluster', level: 'warn', message });
    this.options.logger.warn('redis unreachable: serving on local state', { redis: this.label });
  }

  /** Disconnects both clients; no announcement, no reconnection afterwards. */
  close(): void {
    this.closed = true;
    this.connected = false;
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /**
   * Resyncs and reports the link connected once both clients are up and subscribed; does
   * nothing while a resync runs or when already connected. The heartbeat calls it too, so a
   * resync that failed is retried without waiting for a reconnect.
   */
  async sync(): Promise<void> {
    if (this.closed || this.syncing || this.connected || this.cmd.status !== 'ready' || !this.subscribed) return;
    this.syncing = true;
    this.failures = 0;
    const generation = this.generation;
    let exchanged: number;
    try {
      exchanged = await this.options.onReady();
    } catch (err) {
      this.options.logger.warn('redis resync failed; retrying', { redis: this.label, err: (err as Error).message });
      return;
    } finally {
      this.syncing = false;
    }
    if (this.closed || this.cmd.status !== 'ready' || !this.subscribed) return;
    // Lost and back while it ran: messages may have been missed in between, so once more.
    if (generation !== this.generation) return void this.sync();
    this.connected = true;
    this.downAnnounced = false;
    const changes = `${exchanged} change${exchanged === 1 ? '' : 's'}`;
    if (!this.everConnected) {
      this.everConnected = true;
      this.options.events.add({ kind: 'cluster', level: 'info', message: `connected to Redis ${this.label} as ${this.options.instance} (resynced ${changes})` });
      this.options.logger.info('connected to redis', { redis: this.label, instance: this.options.instance, resynced: exchanged });
    } else {
      this.options.events.add({ kind: 'cluster', level: 'info', message: `Redis back: resynced ${changes}` });
      this.options.logger.info('redis back: resynced', { redis: this.label, resynced: exchanged });
    }
  }

  private onLost(): void {
    if (this.closed) return;
    this.generation += 1;
    if (!this.connected) {
      if (!this.everConnected) this.noteStartFailed();
      return;
    }
    this.connected = false;
    if (this.downAnnounced) return;
    this.downAnnounced = true;
    this.options.events.add({ kind: 'cluster', level: 'warn', message: 'Redis unreachable: serving on local state' });
    this.options.logger.warn('redis unreachable: serving on local state', { redis: this.label });
  }
}
