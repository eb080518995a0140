/**
 * The Lua token bucket against a real redis-server: the same decisions and header numbers as
 * the local `TokenBuckets` for the same rate, a TTL of the refill time, and refill by Redis's
 * clock. Skipped, visibly, only when redis-server is not installed.
 */
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { TokenBuckets } from '../../../src/resilience/token-buckets.js';
import { bucketKey, TAKE_TOKEN_COMMAND, TAKE_TOKEN_LUA, tokenTakeOf, type TakeTokenCommand } from '../../../src/cluster/redis/token-bucket-script.js';
import { redisServerInstalled, startRedisServer } from '../redis-server.js';

const installed = redisServerInstalled();
const redisTest = installed ? test : test.skip;
if (!installed) test('redis-server is not installed: the Lua token bucket tests are skipped (apt-get install redis-server)', (t) => t.pass());

async function scriptClient(t: ExecutionContext): Promise<Redis & TakeTokenCommand> {
  const server = await startRedisServer(t);
  const redis = new Redis({ path: server.socket, maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  redis.defineCommand(TAKE_TOKEN_COMMAND, { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
  return redis as Redis & TakeTokenCommand;
}

redisTest('burst 3 at 0.001 rps: 3 allowed then refused, with the local buckets\' remaining, retry-after and full-in', async (t) => {
  const redis = await scriptClient(t);
  const rate = { rps: 0.001, burst: 3 };
  const local = new TokenBuckets(rate);
  const key = bucketKey('velo:', 'web', 'pool', '203.0.113.7');
  t.is(key, 'velo:rl:web:pool:203.0.113.7');
  const began = performance.now();
  for (let i = 0; i < 5; i++) {
    const remote = tokenTakeOf(await redis[TAKE_TOKEN_COMMAND](key, rate.rps, rate.burst), rate);
    // The local clock runs alongside Redis's: both buckets refill by the same real time.
    const mine = local.take('203.0.113.7', performance.now() - began);
    t.is(remote.allowed, mine.allowed, `take ${i + 1}`);
    t.is(remote.remaining, mine.remaining, `remaining after take ${i + 1}`);
    // The two clocks start a round trip apart (up to a few hundred ms on a loaded machine); at
    // 0.001 rps a ms of refill is a ms of full-in, against values of about 1,000,000 ms.
    t.true(Math.abs(remote.retryAfterMs - mine.retryAfterMs) < 500, `retry-after after take ${i + 1}: ${remote.retryAfterMs} vs ${mine.retryAfterMs}`);
    t.true(Math.abs(remote.fullInMs - mine.fullInMs) < 500, `full-in after take ${i + 1}: ${remote.fullInMs} vs ${mine.fullInMs}`);
  }
});

redisTest('the bucket key expires when it would be full again (PEXPIRE = refill time), and other clients have their own', async (t) => {
  const redis = await scriptClient(t);
  const key = bucketKey('velo:', 'web', 'login', '198.51.100.1');
  await redis[TAKE_TOKEN_COMMAND](key, 2, 4);
  const ttl = await redis.pttl(key);
  // One token taken of 4 at 2/s: full again in 500 ms.
  t.true(ttl > 400 && ttl <= 500, `pttl ${ttl}`);
  const other = tokenTakeOf(await redis[TAKE_TOKEN_COMMAND](bucketKey('velo:', 'web', 'login', '198.51.100.2'), 2, 4), { rps: 2, burst: 4 });
  t.is(other.remaining, 3, 'a new client starts with a full bucket');
});

redisTest('tokens come back at rps by Redis\'s clock: an empty bucket at 100/s allows again (polled, deadline 2 s)', async (t) => {
  const redis = await scriptClient(t);
  const rate = { rps: 100, burst: 2 };
  const key = bucketKey('velo:', 'web', 'pool', '192.0.2.1');
  const take = async () => tokenTakeOf(await redis[TAKE_TOKEN_COMMAND](key, rate.rps, rate.burst), rate);
  // Drain it: at 100/s a token may come back between calls, so take until one is refused.
  let refused = false;
  for (let i = 0; i < 50 && !refused; i++) refused = !(await take()).allowed;
  t.true(refused, 'the bucket ran dry');
  const deadline = Date.now() + 2000;
  let allowed = false;
  while (!allowed && Date.now() < deadline) allowed = (await take()).allowed;
  t.true(allowed, 'a token came back');
});

redisTest('a lower burst (a reload on one instance) clamps the saved tokens', async (t) => {
  const redis = await scriptClient(t);
  const key = bucketKey('velo:', 'web', 'pool', '192.0.2.9');
  await redis[TAKE_TOKEN_COMMAND](key, 0.001, 10);
  const after = tokenTakeOf(await redis[TAKE_TOKEN_COMMAND](key, 0.001, 2), { rps: 0.001, burst: 2 });
  t.is(after.remaining, 1, '9 saved tokens clamp to 2, one taken');
});

test('tokenTakeOf refuses a reply that is not [0|1, number]', (t) => {
  t.throws(() => tokenTakeOf('OK', { rps: 1, burst: 1 }), { instanceOf: TypeError });
  t.throws(() => tokenTakeOf([1, 'x'], { rps: 1, burst: 1 }), { instanceOf: TypeError });
});
