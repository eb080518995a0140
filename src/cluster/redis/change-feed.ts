/**
 * Runtime changes shared by every instance. A change made here (dashboard, admin API, CLI,
 * file watch; not one that came from the cluster) is stamped, stored in the hash
 * `{prefix}state` under its field and published on `{prefix}changes`, both by one script that
 * does nothing when the stored entry is newer (resync-rule.ts: last writer wins per field).
 * Changes published by the others are applied with actor `cluster`; one's own are ignored.
 * While Redis is away changes queue here (the latest per field); on every (re)connect,
 * `resync` applies what the others stored meanwhile and pushes what won of the queue.
 *
 * The hash has no expiry: it is the cluster's runtime state, so an instance that starts (or
 * restarts) adopts it. `DEL {prefix}state` forgets it.
 */
import type { Actor, ChangeListener, RuntimeChange } from '../../engine/control.js';
import type { Logger } from '../../log/logger.js';
import type { RedisLink } from './redis-link.js';
import { changeField, isNewer, parseChangeEntry, resyncPlan, type ChangeEntry } from './resync-rule.js';

/** The operations the feed needs from `Control`. */
export interface ChangeTarget {
  readonly changeListeners: ChangeListener[];
  applyChange(change: RuntimeChange, actor: Actor): void;
}

/** The name of the store-and-publish script on the command client. */
const PUBLISH_COMMAND = 'veloPublishChange';

/**
 * KEYS[1] the state hash; ARGV: field, entry JSON, at, instance, channel. Stores and publishes
 * the entry unless the stored one wins (`isNewer`, the same rule); returns 1 if stored, else 0.
 */
const PUBLISH_LUA = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, o = pcall(cjson.decode, old)
  local at = tonumber(ARGV[3])
  if ok and type(o) == 'table' and type(o.at) == 'number' and type(o.instance) == 'string' then
    if o.at > at or (o.at == at and o.instance >= ARGV[4]) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
`;

interface PublishCommand {
  [PUBLISH_COMMAND](hash: string, field: string, entry: string, at: number, instance: string, channel: string): Promise<number>;
}

/** What the feed uses of the link. */
export type FeedLink = Pick<RedisLink, 'ready' | 'cmd' | 'serverNow' | 'subscribe' | 'noteOutcome'>;

/** One instance's side of the shared runtime state. */
export class ChangeFeed {
  /** The latest entry per field this instance made or applied. */
  private readonly applied = new Map<string, ChangeEntry>();
  /** Own entries Redis has not stored yet (made while disconnected, or whose store failed). */
  private readonly pending = new Map<string, ChangeEntry>();
  private lastAt = 0;
  private flushing = false;
  private readonly publisher: PublishCommand;
  readonly hashKey: string;
  readonly channel: string;

  constructor(
    private readonly control: ChangeTarget,
    private readonly link: FeedLink,
    private readonly options: { prefix: string; instance: string; logger: Logger },
  ) {
    this.hashKey = `${options.prefix}state`;
    this.channel = `${options.prefix}changes`;
    link.cmd.defineCommand(PUBLISH_COMMAND, { numberOfKeys: 1, lua: PUBLISH_LUA });
    this.publisher = link.cmd as unknown as PublishCommand;
  }

  /** Starts listening to local changes and to the channel. */
  start(): void {
    this.control.changeListeners.push(this.onLocalChange);
    this.link.subscribe(this.channel, this.onMessage);
  }

  /** Stops listening to local changes (the link's close ends the subscription). */
  stop(): void {
    const i = this.control.changeListeners.indexOf(this.onLocalChange);
    if (i >= 0) this.control.changeListeners.splice(i, 1);
  }

  /** Own changes not stored in Redis yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Brings this instance and Redis level (see resync-rule.ts); resolves to the changes applied
   * here plus those pushed. Rejects when Redis fails meanwhile (the link retries on its next
   * reconnect; what was applied stays applied, what was not pushed stays pending).
   */
  async resync(): Promise<number> {
    const raw = await this.link.cmd.hgetall(this.hashKey);
    const stored: ChangeEntry[] = [];
    for (const text of Object.values(raw)) {
      const entry = parseChangeEntry(text);
      if (entry !== undefined) stored.push(entry);
    }
    const plan = resyncPlan(stored, this.applied, this.pending);
    for (const entry of plan.apply) this.apply(entry);
    for (const entry of plan.dropped) if (this.pending.get(entry.field) === entry) this.pending.delete(entry.field);
    let pushed = 0;
    for (const entry of plan.push) if (await this.store(entry)) pushed += 1;
    return plan.apply.length + pushed;
  }

  /** Stores what is pending (after a failed store); does nothing while Redis is away. Never rejects. */
  async flush(): Promise<void> {
    if (this.flushing || !this.link.ready || this.pending.size === 0) return;
    this.flushing = true;
    try {
      for (const entry of [...this.pending.values()].sort((a, b) => a.at - b.at)) await this.store(entry);
      this.link.noteOutcome(true);
    } catch (err) {
      this.link.noteOutcome(false);
      this.options.logger.debug('change feed: store failed, kept pending', { err: (err as Error).message });
    } finally {
      this.flushing = false;
    }
  }

  private readonly onLocalChange = (change: RuntimeChange, actor: Actor): void => {
    if (actor === 'cluster') return;
    // Strictly increasing stamps, so two changes of one field in the same ms keep their order.
    const at = Math.max(Math.floor(this.link.serverNow()), this.lastAt + 1);
    this.lastAt = at;
    const entry: ChangeEntry = { field: changeField(change), change, at, instance: this.options.instance };
    this.applied.set(entry.field, entry);
    this.pending.set(entry.field, entry);
    void this.flush();
  };

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    const entry = parseChangeEntry(message);
    if (entry === undefined) {
      this.options.logger.warn('change feed: ignored a malformed message', { channel });
      return;
    }
    if (entry.instance === this.options.instance) return;
    if (isNewer(entry, this.applied.get(entry.field))) this.apply(entry);
  };

  /** Stores and publishes `entry` if it still wins; true when stored. Drops it from `pending` either way. Rejects when Redis fails. */
  private async store(entry: ChangeEntry): Promise<boolean> {
    const stored = await this.publisher[PUBLISH_COMMAND](this.hashKey, entry.field, JSON.stringify(entry), entry.at, entry.instance, this.channel);
    if (this.pending.get(entry.field) === entry) this.pending.delete(entry.field);
    return stored === 1;
  }

  private apply(entry: ChangeEntry): void {
    this.applied.set(entry.field, entry);
    if (this.pending.get(entry.field) !== undefined && isNewer(entry, this.pending.get(entry.field))) this.pending.delete(entry.field);
    try {
      this.control.applyChange(entry.change, 'cluster');
    } catch (err) {
      // Instances with different pools: a change to a pool this one does not have is not an error here.
      this.options.logger.warn('change from the cluster not applied', { from: entry.instance, field: entry.field, err: (err as Error).message });
    }
  }
}
