/**
 * The c-ares resolver wrapper against a real dnsmasq: A and AAAA together with their TTLs, a
 * name with no record is ENOTFOUND, a dead server is a failure (not "no records"), SRV records
 * as RFC 2782 gives them; localhost and IP literals are answered without a query.
 */
import test from 'ava';
import { createDnsResolver, DnsLookupError } from '../../src/discovery/dns-resolver.js';
import { dnsmasqInstalled, startDnsmasq } from '../integration/dnsmasq.js';

const installed = dnsmasqInstalled();
const dnsTest = installed ? test : test.skip;
if (!installed) test('dnsmasq is not installed: the resolver tests against it are skipped (apt-get install dnsmasq)', (t) => t.pass());

dnsTest('A and AAAA with TTLs; no record is ENOTFOUND; SRV records; a dead server is ECONNREFUSED or ETIMEOUT', async (t) => {
  const dns = await startDnsmasq(t, { 'api.internal': ['127.0.0.2', 'fd00::2'], 'v4.internal': ['127.0.0.3'] }, [
    { name: '_http._tcp.api.internal', target: 'v4.internal', port: 8081, priority: 5, weight: 20 },
  ]);
  const resolver = createDnsResolver([dns.server], { timeoutMs: 500, tries: 1 });
  t.deepEqual(await resolver.resolveAddresses('api.internal'), [
    { address: '127.0.0.2', family: 4, ttlSeconds: 1 },
    { address: 'fd00::2', family: 6, ttlSeconds: 1 },
  ]);
  t.deepEqual(await resolver.resolveAddresses('v4.internal'), [{ address: '127.0.0.3', family: 4, ttlSeconds: 1 }], 'no AAAA is not a failure');
  const missing = await t.throwsAsync(resolver.resolveAddresses('nope.internal'), { instanceOf: DnsLookupError });
  t.is(missing?.code, 'ENOTFOUND');
  t.deepEqual(await resolver.resolveSrv('_http._tcp.api.internal'), [{ name: 'v4.internal', port: 8081, priority: 5, weight: 20 }]);
  await dns.kill();
  const dead = await t.throwsAsync(resolver.resolveAddresses('api.internal'), { instanceOf: DnsLookupError });
  t.regex(dead!.code, /^(ECONNREFUSED|ETIMEOUT)$/);
});

test('localhost (RFC 6761) and IP literals are answered without asking anyone', async (t) => {
  const resolver = createDnsResolver(['127.0.0.1:1'], { timeoutMs: 200, tries: 1 });
  t.deepEqual((await resolver.resolveAddresses('localhost')).map((a) => a.address), ['127.0.0.1', '::1']);
  t.deepEqual((await resolver.resolveAddresses('api.localhost')).map((a) => a.address), ['127.0.0.1', '::1']);
  t.deepEqual(await resolver.resolveAddresses('10.0.0.1'), [{ address: '10.0.0.1', family: 4, ttlSeconds: 86_400 }]);
});
