/** `cluster.redis` URLs: what the schema accepts, the ioredis options they become, and the redacted form. */
import test from 'ava';
import { redactRedisUrl, redisTarget } from '../../../src/cluster/redis/redis-url.js';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const flags = { flags: { backends: ['http://127.0.0.1:9001'] } };
const accepts = (url: string): boolean => {
  try {
    return parseConfigText(`cluster: { redis: "${url}" }\n`, undefined, flags).cluster?.redis === url;
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
};

for (const url of ['redis://127.0.0.1:6379', 'redis://:s3cret@10.0.0.5:6380/2', 'rediss://user:pw@redis.example:6380/0', 'redis://redis/', 'unix:///run/redis/redis.sock', 'unix:///tmp/r.sock?db=3']) {
  test(`the schema accepts ${url}`, (t) => t.true(accepts(url)));
}
for (const url of ['http://127.0.0.1:6379', 'redis://host:6379/zero', 'unix://relative.sock', 'redis:// spaced', '127.0.0.1:6379']) {
  test(`the schema refuses ${url}`, (t) => t.false(accepts(url)));
}

test('the prefix defaults to velo: and the instance is optional', (t) => {
  t.deepEqual(parseConfigText('cluster: { redis: "redis://r:6379" }\n', undefined, flags).cluster, { redis: 'redis://r:6379', prefix: 'velo:' });
  t.deepEqual(parseConfigText('cluster: { redis: "redis://r:6379", prefix: "shop:", instance: a }\n', undefined, flags).cluster, { redis: 'redis://r:6379', prefix: 'shop:', instance: 'a' });
});

test('URLs become ioredis options: host, port (6379 by default), credentials, db, TLS, socket path', (t) => {
  t.deepEqual(redisTarget('redis://10.0.0.5'), { host: '10.0.0.5', port: 6379 });
  t.deepEqual(redisTarget('redis://:p%40ss@[::1]:6380/2'), { host: '::1', port: 6380, password: 'p@ss', db: 2 });
  t.deepEqual(redisTarget('rediss://u:p@r.example:6380/0'), { host: 'r.example', port: 6380, username: 'u', password: 'p', db: 0, tls: {} });
  t.deepEqual(redisTarget('unix:///tmp/r.sock?db=3'), { path: '/tmp/r.sock', db: 3 });
  t.throws(() => redisTarget('http://x'), { instanceOf: TypeError });
});

test('the redacted form hides the password and keeps everything else', (t) => {
  t.is(redactRedisUrl('redis://:s3cret@10.0.0.5:6380/2'), 'redis://:***@10.0.0.5:6380/2');
  t.is(redactRedisUrl('rediss://user:pw@r.example:6380'), 'rediss://user:***@r.example:6380');
  t.is(redactRedisUrl('redis://10.0.0.5:6379'), 'redis://10.0.0.5:6379');
  t.is(redactRedisUrl('unix:///tmp/r.sock'), 'unix:///tmp/r.sock');
});
