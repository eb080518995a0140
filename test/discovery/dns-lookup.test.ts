/**
 * The connector's lookup for DNS single mode: answers the provider published, handed out in
 * turn, filtered by family, in both of net.connect's shapes (one address, or `all` for
 * autoSelectFamily); undefined (the system resolver, nothing added) without `dns:`, in strict
 * mode and for IP literals; a name nobody answered fails like getaddrinfo.
 */
import test from 'ava';
import type { LookupAddress } from 'node:dns';
import { parseConfigText } from '../../src/config/load.js';
import { clampTtlMs, connectLookup, publishAnswer, type ConnectLookup } from '../../src/discovery/dns-lookup.js';

function ask(lookup: ConnectLookup, options: Parameters<ConnectLookup>[1]): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => lookup('API.internal', options, (err, address, family) => resolve({ err, address, family })));
}

test('published answers are handed out in turn, by family, one or all', async (t) => {
  const pool = parseConfigText('backends: [http://api.internal:8080]\ndns: { servers: ["127.0.0.1:1"], min_ttl: 1s }\n').pools[0]!;
  pool.name = 'lookup-turns';
  const lookup = connectLookup(pool, new URL('http://api.internal:8080'))!;
  t.truthy(lookup);
  publishAnswer(pool.name, pool.dns!, 'api.internal', [
    { address: '10.0.0.1', family: 4, ttlSeconds: 60 },
    { address: '10.0.0.2', family: 4, ttlSeconds: 60 },
    { address: 'fd00::1', family: 6, ttlSeconds: 60 },
  ], 60_000);
  const one = [];
  for (let i = 0; i < 3; i++) one.push((await ask(lookup, {})).address);
  t.deepEqual(one, ['10.0.0.1', '10.0.0.2', 'fd00::1']);
  t.deepEqual(await ask(lookup, { family: 6 }), { err: null, address: 'fd00::1', family: 6 });
  const all = await ask(lookup, { all: true });
  t.is(all.err, null);
  t.is((all.address as LookupAddress[]).length, 3, 'every address, for autoSelectFamily to try in turn');
});

test('a name nobody answered (the server refuses) fails like getaddrinfo: ENOTFOUND', async (t) => {
  const pool = parseConfigText('backends: [http://api.internal:8080]\ndns: { servers: ["127.0.0.1:1"] }\n').pools[0]!;
  pool.name = 'lookup-miss';
  const { err } = await ask(connectLookup(pool, new URL('http://api.internal:8080'))!, {});
  t.is(err?.code, 'ENOTFOUND');
});

test('no lookup (the system resolver, nothing added to the connection path) without dns:, in strict mode, or for an IP', (t) => {
  const plain = parseConfigText('backends: [http://api.internal:8080]\n').pools[0]!;
  const strict = parseConfigText('backends: [http://10.0.0.1:8080]\ndns: { mode: strict }\n').pools[0]!;
  const single = parseConfigText('backends: [http://10.0.0.1:8080]\ndns: {}\n').pools[0]!;
  t.is(connectLookup(plain, new URL('http://api.internal:8080')), undefined);
  t.is(connectLookup(strict, new URL('http://10.0.0.1:8080')), undefined);
  t.is(connectLookup(single, new URL('http://10.0.0.1:8080')), undefined);
});

test('clampTtlMs: the shortest TTL of the answer, within min and max', (t) => {
  const a = (ttlSeconds: number) => ({ address: '10.0.0.1', family: 4 as const, ttlSeconds });
  t.is(clampTtlMs([a(30), a(10)], 1000, 60_000), 10_000);
  t.is(clampTtlMs([a(0)], 1000, 60_000), 1000);
  t.is(clampTtlMs([a(86_400)], 1000, 60_000), 60_000);
});
