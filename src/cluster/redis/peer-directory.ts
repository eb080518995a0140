/**
 * Who else is running: each instance writes a summary of itself (address, admin address,
 * version, uptime, every pool's backends with state and in-flight count, totals) to
 * `{prefix}peer:{instance}` with a TTL, and its name to the sorted set `{prefix}peers` scored
 * by Redis server time; then it reads the others that beat within the TTL. One heartbeat is
 * one script call plus one MGET, every `everyMs` (2 s by default). A peer that stopped beating
 * ages in the list (`state: 'silent'` after three missed beats) and leaves it when its key
 * expires (the TTL, 10 s by default) or when it shuts down cleanly (`leave`).
 *
 * The heartbeat also reads Redis's clock (`TIME`), which the change feed uses to stamp
 * changes (`RedisLink.noteServerTime`).
 */
import type { EngineSnapshot, PeerSnapshot, PeerSummary } from '../../metrics/snapshot.js';
import type { RedisLink } from './redis-link.js';

const HEARTBEAT_COMMAND = 'veloHeartbeat';

/**
 * KEYS[1] own summary key, KEYS[2] the peers set; ARGV: summary JSON, TTL ms, instance.
 * Writes both, drops names older than the TTL, returns `{now ms, name, score, name, score...}`.
 */
const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[2], ttl * 6)
local out = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
table.insert(out, 1, tostring(now))
return out
`;

interface HeartbeatCommand {
  [HEARTBEAT_COMMAND](summaryKey: string, setKey: string, summary: string, ttlMs: number, instance: string): Promise<string[]>;
}

/** Heartbeat period and summary TTL, ms. */
export interface PeerTimings {
  everyMs: number;
  ttlMs: number;
}

/** Every 2 s, kept 10 s. */
export const PEER_DEFAULTS: PeerTimings = { everyMs: 2000, ttlMs: 10_000 };

interface Seen {
  summary: PeerSummary;
  /** Heartbeat age when read, ms. */
  ageMs: number;
  /** Local wall-clock ms of the read. */
  readAt: number;
}

/** This instance's heartbeat and its view of the others. */
export class PeerDirectory {
  private seen: Seen[] = [];
  private readonly heartbeat: HeartbeatCommand;
  private readonly summaryKey: string;
  private readonly setKey: string;

  constructor(
    private readonly link: Pick<RedisLink, 'cmd' | 'ready' | 'noteServerTime'>,
    private readonly options: {
      prefix: string;
      instance: string;
      /** The summary to publish, built from the current snapshot. */
      summary: () => PeerSummary;
      wallClock: () => number;
      timings?: Partial<PeerTimings>;
    },
  ) {
    this.summaryKey = `${options.prefix}peer:${options.instance}`;
    this.setKey = `${options.prefix}peers`;
    link.cmd.defineCommand(HEARTBEAT_COMMAND, { numberOfKeys: 2, lua: HEARTBEAT_LUA });
    this.heartbeat = link.cmd as unknown as HeartbeatCommand;
  }

  get timings(): PeerTimings {
    return { ...PEER_DEFAULTS, ...this.options.timings };
  }

  /** Writes this instance's summary and reads the others'. Rejects when Redis fails (nothing changes then). */
  async beat(): Promise<void> {
    const { ttlMs } = this.timings;
    const reply = await this.heartbeat[HEARTBEAT_COMMAND](this.summaryKey, this.setKey, JSON.stringify(this.options.summary()), ttlMs, this.options.instance);
    const readAt = this.options.wallClock();
    const now = Number(reply[0]);
    if (Number.isFinite(now)) this.link.noteServerTime(now);
    const others: Array<{ name: string; beatAt: number }> = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const name = reply[i]!;
      if (name !== this.options.instance) others.push({ name, beatAt: Number(reply[i + 1]) });
    }
    const texts = others.length === 0 ? [] : await this.link.cmd.mget(others.map((o) => `${this.options.prefix}peer:${o.name}`));
    const seen: Seen[] = [];
    others.forEach((o, i) => {
      const summary = parseSummary(texts[i] ?? null);
      if (summary !== undefined) seen.push({ summary, ageMs: Math.max(0, now - o.beatAt), readAt });
    });
    this.seen = seen.sort((a, b) => (a.summary.instance < b.summary.instance ? -1 : 1));
  }

  /** Removes this instance from the directory (a clean shutdown); never rejects. */
  async leave(): Promise<void> {
    if (!this.link.ready) return;
    await Promise.all([this.link.cmd.del(this.summaryKey), this.link.cmd.zrem(this.setKey, this.options.instance)]).catch(() => undefined);
  }

  /** The others as last read, their heartbeat age brought up to now. */
  list(): PeerSnapshot[] {
    const now = this.options.wallClock();
    const silentAfter = 3 * this.timings.everyMs;
    return this.seen.map(({ summary, ageMs, readAt }) => {
      const age = ageMs + Math.max(0, now - readAt);
      return { ...summary, ageMs: age, state: age > silentAfter ? 'silent' : 'up' };
    });
  }
}

/** This instance's summary, from its snapshot, as its peers show it; `instance` is its name. */
export function peerSummary(instance: string, s: EngineSnapshot): PeerSummary {
  const scheme = s.listen.tls ? 'https' : 'http';
  return {
    instance,
    version: s.version,
    listen: `${scheme}://${hostPort(s.listen.host, s.listen.port)}`,
    admin: s.admin !== undefined ? `http://${hostPort(s.admin.host, s.admin.port)}` : null,
    startedAt: s.startedAt,
    uptimeMs: Math.round(s.uptimeMs),
    pools: s.pools.map((p) => ({
      name: p.name,
      strategy: p.strategy,
      backends: p.backends.map((b) => ({ id: b.id, name: b.name, state: b.state, inFlight: b.inFlight, weight: b.weight })),
    })),
    totals: { requests: s.totals.requests, inFlight: s.totals.inFlight, rps: Math.round(s.totals.rps * 10) / 10 },
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseSummary(text: string | null): PeerSummary | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as PeerSummary;
    if (typeof v !== 'object' || v === null || typeof v.instance !== 'string' || !Array.isArray(v.pools)) return undefined;
    return v;
  } catch {
    return undefined;
  }
}
