/**
 * The change feed between two instances on a real redis-server, each with its own injected
 * clock (the stamps are exact) and a recording stand-in for `Control`: live changes cross over
 * pub/sub, one's own echo is ignored, and after Redis comes back (empty, as a restarted
 * server without persistence is) both instances push what they changed meanwhile and converge
 * on the last writer per field.
 */
import test, { type ExecutionContext } from 'ava';
import type { Actor, ChangeListener, RuntimeChange } from '../../../src/engine/control.js';
import { ChangeFeed, type ChangeTarget } from '../../../src/cluster/redis/change-feed.js';
import { RedisLink } from '../../../src/cluster/redis/redis-link.js';
import { EventLog } from '../../../src/metrics/event-log.js';
import { Logger } from '../../../src/log/logger.js';
import { eventually } from '../../integration/harness.js';
import { redisServerInstalled, startRedisServer, type TestRedis } from '../redis-server.js';

const installed = redisServerInstalled();
const redisTest = installed ? test : test.skip;
if (!installed) test('redis-server is not installed: the change feed tests are skipped (apt-get install redis-server)', (t) => t.pass());

const B = 'http://10.0.0.1:80';

/** A stand-in for Control: records what the feed applies; `make` is a local change by an operator. */
class RecordingControl implements ChangeTarget {
  readonly changeListeners: ChangeListener[] = [];
  readonly applied: Array<{ change: RuntimeChange; actor: Actor }> = [];
  applyChange(change: RuntimeChange, actor: Actor): void {
    this.applied.push({ change, actor });
    for (const l of this.changeListeners) l(change, actor);
  }
  make(change: RuntimeChange): void {
    for (const l of this.changeListeners) l(change, 'api');
  }
}

interface Side {
  control: RecordingControl;
  link: RedisLink;
  feed: ChangeFeed;
  events: EventLog;
  /** This instance's wall clock, ms; the test sets it. */
  clock: { now: number };
}

function side(t: ExecutionContext, redis: TestRedis, instance: string): Side {
  const clock = { now: 1_000 };
  const control = new RecordingControl();
  const events = new EventLog(50, () => clock.now);
  const logger = new Logger('silent');
  let feed: ChangeFeed | undefined;
  const link = new RedisLink({ url: redis.url, instance, logger, events, wallClock: () => clock.now, timings: { minBackoffMs: 20, maxBackoffMs: 100 }, onReady: () => feed!.resync() });
  feed = new ChangeFeed(control, link, { prefix: 'test:', instance, logger });
  feed.start();
  t.teardown(() => link.close());
  return { control, link, feed, events, clock };
}

const weights = (s: Side) => s.control.applied.filter((a) => a.change.op === 'weight').map((a) => (a.change as { weight: number }).weight);

redisTest('a change made on A is applied on B as `cluster`; A ignores its own echo; the hash holds it', async (t) => {
  const redis = await startRedisServer(t);
  const a = side(t, redis, 'a');
  const b = side(t, redis, 'b');
  await eventually(() => a.link.connected && b.link.connected, 5000, 'both connected');
  a.control.make({ op: 'drain', pool: 'web', backend: B, on: true });
  await eventually(() => b.control.applied.length === 1, 5000, 'B applied the drain');
  t.deepEqual(b.control.applied, [{ change: { op: 'drain', pool: 'web', backend: B, on: true }, actor: 'cluster' }]);
  t.deepEqual(a.control.applied, [], 'A does not apply its own change again');
  t.is(a.feed.pendingCount, 0, 'stored');
  const stored = JSON.parse((await a.link.cmd.hget('test:state', `web|${B}|drain`))!);
  t.like(stored, { instance: 'a', at: 1_000, change: { op: 'drain', on: true } });
  // B's replay is actor `cluster`: it is not published back.
  t.is(b.feed.pendingCount, 0);
});

redisTest('Redis lost and back empty: each side pushes its offline changes and both converge on the last writer per field', async (t) => {
  const redis = await startRedisServer(t);
  const a = side(t, redis, 'a');
  const b = side(t, redis, 'b');
  await eventually(() => a.link.connected && b.link.connected, 5000, 'both connected');
  await redis.kill();
  await eventually(() => !a.link.connected && !b.link.connected, 5000, 'both see the loss');
  // Offline: A sets weight 5 at t=2000 and maintenance at t=2500; B sets weight 7 later, at t=3000.
  a.clock.now = 2_000;
  a.control.make({ op: 'weight', pool: 'web', backend: B, weight: 5 });
  a.clock.now = 2_500;
  a.control.make({ op: 'maintenance', pool: 'web', backend: B, on: true });
  b.clock.now = 3_000;
  b.control.make({ op: 'weight', pool: 'web', backend: B, weight: 7 });
  t.is(a.feed.pendingCount, 2);
  t.is(b.feed.pendingCount, 1);
  await redis.restart();
  await eventually(() => a.link.connected && b.link.connected, 10_000, 'both back');
  await eventually(() => weights(a).at(-1) === 7 && b.control.applied.some((x) => x.change.op === 'maintenance'), 5000, 'converged');
  t.deepEqual(weights(b), [], 'B keeps its own later weight: A\'s earlier one never applies there');
  t.deepEqual(weights(a), [7], 'A takes B\'s later weight');
  t.is(a.feed.pendingCount + b.feed.pendingCount, 0, 'nothing left to push');
  for (const s of [a, b]) {
    const cluster = s.events.recent(10).filter((e) => e.kind === 'cluster').map((e) => e.message);
    t.is(cluster.filter((m) => m.startsWith('Redis unreachable')).length, 1, 'the loss is said once');
    t.is(cluster.filter((m) => m.startsWith('Redis back: resynced')).length, 1, 'the return is said once');
  }
});
