/**
 * The DNS provider with a fake resolver and hand-fired timers: TTL bounds, the strict-mode
 * diff through Control.reconcileSource, a failure keeping the last good set (one event per
 * streak, backoff), SRV priority and weight, and single mode's answers for the connector.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { Control } from '../../src/engine/control.js';
import { Engine } from '../../src/engine/engine.js';
import { Logger } from '../../src/log/logger.js';
import { DnsProvider, lowestPriority, srvWeight, type DnsNameState } from '../../src/discovery/dns-provider.js';
import { DnsLookupError, type DnsResolver, type ResolvedAddress, type SrvRecord } from '../../src/discovery/dns-resolver.js';
import { startDiscovery, UnresolvedNameError } from '../../src/discovery/index.js';
import type { DesiredBackend } from '../../src/engine/control.js';

/** A resolver whose answers the test sets; a string answer is the error code it fails with. */
class FakeResolver implements DnsResolver {
  hosts = new Map<string, ResolvedAddress[] | string>();
  srv = new Map<string, SrvRecord[] | string>();
  queries: string[] = [];
  set(name: string, ips: string[] | string, ttlSeconds = 30): void {
    this.hosts.set(name, typeof ips === 'string' ? ips : ips.map((address) => ({ address, family: address.includes(':') ? 6 : 4, ttlSeconds })));
  }
  async resolveAddresses(name: string): Promise<ResolvedAddress[]> {
    this.queries.push(name);
    const a = this.hosts.get(name) ?? 'ENOTFOUND';
    if (typeof a === 'string') throw new DnsLookupError(a, name);
    return a;
  }
  async resolveSrv(name: string): Promise<SrvRecord[]> {
    this.queries.push(`SRV ${name}`);
    const a = this.srv.get(name) ?? 'ENOTFOUND';
    if (typeof a === 'string') throw new DnsLookupError(a, name);
    return a;
  }
}

/** Timers fired by the test: `next()` runs the one due first and says after how long. */
class FakeTimers {
  pending: Array<{ fn: () => void; ms: number }> = [];
  setTimeout = (fn: () => void, ms: number): unknown => {
    const t = { fn, ms };
    this.pending.push(t);
    return t;
  };
  clearTimeout = (h: unknown): void => {
    this.pending = this.pending.filter((t) => t !== h);
  };
  /** The delay of the one scheduled timer (the provider keeps exactly one). */
  get delay(): number | undefined {
    return this.pending.length === 1 ? this.pending[0]!.ms : undefined;
  }
  fire(): void {
    const t = this.pending.shift();
    if (t === undefined) throw new Error('no timer pending');
    t.fn();
  }
}

function provider(yaml: string, resolver: FakeResolver) {
  const pool = parseConfigText(yaml, undefined).pools[0]!;
  const timers = new FakeTimers();
  const events: string[] = [];
  const sets: DesiredBackend[][] = [];
  const published: Array<[string, string[], number]> = [];
  const names = new Map<string, DnsNameState>();
  let wall = Date.UTC(2026, 0, 1, 12, 1, 5);
  const p = new DnsProvider(pool, {
    resolver,
    timers,
    wallClock: () => wall,
    names,
    reconcile: (d) => sets.push(d),
    event: (level, m) => events.push(`${level} ${m}`),
    publish: (h, a, ttl) => published.push([h, a.map((x) => x.address), ttl]),
  });
  return { p, timers, events, sets, published, names, last: () => sets.at(-1)!.map((d) => `${d.url} ${d.name} w${d.weight}`), tick: (ms: number) => (wall += ms) };
}

const STRICT = 'health_check: false\nbackends: [{ url: "http://api.internal:8080", weight: 3 }, http://10.9.9.9:80]\ndns: { mode: strict, min_ttl: 1s, max_ttl: 1m }\n';

test('strict: every address is a backend named host#ip with the entry\'s weight; IPv6 in brackets; the next round after the TTL', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2', 'fd00::1'], 20);
  const { p, timers, last } = provider(STRICT, r);
  t.deepEqual(await p.start(), []);
  t.deepEqual(last(), [
    'http://10.0.0.1:8080 api.internal:8080#10.0.0.1 w3',
    'http://10.0.0.2:8080 api.internal:8080#10.0.0.2 w3',
    'http://[fd00::1]:8080 api.internal:8080#fd00::1 w3',
  ]);
  t.is(timers.delay, 20_000, 'the answer\'s TTL (20 s) within min_ttl..max_ttl');
  t.deepEqual(r.queries, ['api.internal'], 'an IP literal is not looked up');
});

test('TTLs are clamped to min_ttl and max_ttl; the shortest TTL of the pool\'s names drives the round', async (t) => {
  for (const [ttl, expected] of [[0, 1000], [3600, 60_000], [7, 7000]] as const) {
    const r = new FakeResolver();
    r.set('api.internal', ['10.0.0.1'], ttl);
    const { p, timers } = provider(STRICT, r);
    await p.start();
    t.is(timers.delay, expected, `TTL ${ttl}s`);
  }
  const r = new FakeResolver();
  r.set('a.internal', ['10.0.0.1'], 40);
  r.set('b.internal', ['10.0.0.2'], 9);
  const { p, timers } = provider('backends: [http://a.internal, http://b.internal]\ndns: { mode: strict, min_ttl: 1s, max_ttl: 1m }\n', r);
  await p.start();
  t.is(timers.delay, 9000);
});

test('an address that disappears leaves the desired set; the same answer again reconciles the same set', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2']);
  const { p, timers, last, events } = provider(STRICT, r);
  await p.start();
  t.is(last().length, 2);
  r.set('api.internal', ['10.0.0.2']);
  timers.fire();
  await p.refresh();
  t.deepEqual(last(), ['http://10.0.0.2:8080 api.internal:8080#10.0.0.2 w3']);
  t.true(events.some((e) => e === 'info dns: api.internal now 10.0.0.2'), events.join('\n'));
});

test('a failed lookup keeps the last good set, says so once per streak, backs off from min_ttl to max_ttl, and says when it resolves again', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 5);
  const { p, timers, last, events, names, tick } = provider(STRICT, r);
  await p.start();
  const good = last();
  r.set('api.internal', 'ETIMEOUT');
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    tick(1000);
    timers.fire();
    await p.refresh();
    t.deepEqual(last(), good, 'the last good set stays');
    delays.push(timers.delay!);
  }
  t.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  const warns = events.filter((e) => e.startsWith('warn'));
  t.deepEqual(warns, ['warn dns: api.internal: ETIMEOUT, keeping 3 addresses from 12:01:05']);
  const s = names.get('A/AAAA api.internal')!;
  t.is(s.failuresTotal, 9);
  t.is(s.lastSuccessAt, Date.UTC(2026, 0, 1, 12, 1, 5));
  r.set('api.internal', ['10.0.0.1'], 5);
  timers.fire();
  await p.refresh();
  t.deepEqual(last(), ['http://10.0.0.1:8080 api.internal:8080#10.0.0.1 w3']);
  t.true(events.some((e) => e === 'info dns: api.internal resolves again (1 address) after 9 failed lookups'), events.join('\n'));
  t.is(timers.delay, 5000);
  // A new streak is a new event.
  r.set('api.internal', 'ECONNREFUSED');
  timers.fire();
  await p.refresh();
  t.is(events.filter((e) => e.startsWith('warn')).length, 2);
});

test('a name that never resolved is reported by start() with its error; the provider keeps trying', async (t) => {
  const r = new FakeResolver();
  const { p, timers, last } = provider(STRICT, r);
  const unresolved = await p.start();
  t.deepEqual(unresolved.map((s) => [s.name, s.lastError]), [['api.internal', 'ENOTFOUND']]);
  t.deepEqual(last(), []);
  t.is(timers.delay, 1000);
  r.set('api.internal', ['10.0.0.7']);
  timers.fire();
  await p.refresh();
  t.deepEqual(last(), ['http://10.0.0.7:8080 api.internal:8080#10.0.0.7 w3']);
});

test('SRV: only the lowest priority group; weight from the record (0 -> 1, capped at 1000); single mode keeps the target name, strict resolves it', async (t) => {
  const records: SrvRecord[] = [
    { name: 'web1.internal', port: 8081, priority: 10, weight: 60 },
    { name: 'web2.internal', port: 8082, priority: 10, weight: 0 },
    { name: 'backup.internal', port: 8083, priority: 20, weight: 100 },
  ];
  t.deepEqual(lowestPriority(records).map((x) => x.name), ['web1.internal', 'web2.internal']);
  t.deepEqual([srvWeight(0), srvWeight(60), srvWeight(65535)], [1, 60, 1000]);
  const r = new FakeResolver();
  r.srv.set('_http._tcp.api.internal', records);
  r.set('web1.internal', ['10.0.1.1', '10.0.1.2'], 12);
  r.set('web2.internal', ['10.0.2.1'], 30);
  const single = provider('srv: _http._tcp.api.internal\ndns: { min_ttl: 2s, max_ttl: 1m }\n', r);
  await single.p.start();
  t.deepEqual(single.last(), ['http://web1.internal:8081 web1.internal:8081 w60', 'http://web2.internal:8082 web2.internal:8082 w1']);
  t.deepEqual(single.published.map(([h, a]) => `${h}=${a.join(',')}`).sort(), ['web1.internal=10.0.1.1,10.0.1.2', 'web2.internal=10.0.2.1']);
  t.is(single.timers.delay, 2000, 'SRV answers carry no TTL in node:dns: asked again every min_ttl');
  const strict = provider('srv: [_https._tcp.api.internal]\ndns: { mode: strict, min_ttl: 2s }\ntls: { servername: api.internal }\n', Object.assign(r, {}));
  r.srv.set('_https._tcp.api.internal', records);
  await strict.p.start();
  t.deepEqual(strict.last(), [
    'https://10.0.1.1:8081 web1.internal:8081#10.0.1.1 w60',
    'https://10.0.1.2:8081 web1.internal:8081#10.0.1.2 w60',
    'https://10.0.2.1:8082 web2.internal:8082#10.0.2.1 w1',
  ]);
  t.false(r.queries.includes('backup.internal'), 'a higher priority group is not even resolved');
});

test('single mode: named backends are not reconciled (the config keeps them); their answers go to the connector', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2'], 8);
  const { p, last, published } = provider('backends: [http://api.internal:8080]\ndns: { servers: [127.0.0.1:5353], min_ttl: 1s }\n', r);
  await p.start();
  t.deepEqual(last(), []);
  t.deepEqual(published, [['api.internal', ['10.0.0.1', '10.0.0.2'], 8000]]);
});

/** An engine whose reloads read `holder.yaml`. */
function engineFor(yaml: string) {
  const holder = { yaml };
  const engine = new Engine({ config: parseConfigText(yaml, undefined), sampleEveryMs: 0, logger: new Logger('silent'), clock: () => 0 });
  return { engine, control: new Control(engine, async () => parseConfigText(holder.yaml, undefined)), holder };
}

test('startDiscovery: strict names become dns backends in the pool (the named entry is not in the table); an unresolvable name rejects naming pool, name and error', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2']);
  const timers = new FakeTimers();
  const yaml = 'pools:\n  - name: web\n    health_check: false\n    backends: [http://api.internal:8080, http://10.9.9.9:80]\n    dns: { mode: strict }\n';
  const { engine, control } = engineFor(yaml);
  t.deepEqual(engine.pools[0]!.upstreams.map((u) => u.id), ['http://10.9.9.9']);
  const d = await startDiscovery(engine, control, { timers, resolverFor: () => r });
  t.deepEqual(engine.pools[0]!.upstreams.map((u) => `${u.name} ${u.source}`), ['10.9.9.9 config', 'api.internal:8080#10.0.0.1 dns', 'api.internal:8080#10.0.0.2 dns']);
  t.deepEqual(d.status().map((s) => [s.pool, s.name, s.answers]), [['web', 'api.internal', 2]]);
  d.stop();
  t.is(timers.pending.length, 0);

  const bad = engineFor(yaml.replace('api.internal', 'gone.internal'));
  const err = await t.throwsAsync(startDiscovery(bad.engine, bad.control, { timers: new FakeTimers(), resolverFor: () => r }), { instanceOf: UnresolvedNameError });
  t.is(err?.message, 'pool "web": gone.internal does not resolve (ENOTFOUND; asked the system name servers); fix the name or DNS, or set dns.allow_unresolved: true to start without it');
  const ok = engineFor(yaml.replace('api.internal', 'gone.internal').replace('mode: strict', 'mode: strict, allow_unresolved: true'));
  const started = await startDiscovery(ok.engine, ok.control, { timers: new FakeTimers(), resolverFor: () => r });
  t.is(ok.engine.pools[0]!.upstreams.length, 1);
  started.stop();
});

test('startDiscovery follows reloads: a pool that gains dns: gets a provider, one that loses it loses its dns backends; a reload with DNS down keeps the last good set', async (t) => {
  const r = new FakeResolver();
  r.set('api.internal', ['10.0.0.1', '10.0.0.2']);
  const timers = new FakeTimers();
  const strict = 'health_check: false\nbackends: [http://api.internal:8080]\ndns: { mode: strict }\n';
  const plain = 'health_check: false\nbackends: [http://api.internal:8080]\n';
  const { engine, control, holder: current } = engineFor(plain);
  const d = await startDiscovery(engine, control, { timers, resolverFor: () => r });
  t.false(d.active);
  const ids = () => engine.pools[0]!.upstreams.map((u) => `${u.id} ${u.source}`);
  t.deepEqual(ids(), ['http://api.internal:8080 config']);
  current.yaml = strict;
  await control.reload('api');
  const deadline = Date.now() + 2000;
  while (ids().length !== 2 && Date.now() < deadline) await new Promise((res) => setImmediate(res));
  t.deepEqual(ids(), ['http://10.0.0.1:8080 dns', 'http://10.0.0.2:8080 dns']);
  t.true(d.active);
  // Weight changed and DNS down: the new provider starts from the old one's last good answer.
  r.set('api.internal', 'ETIMEOUT');
  current.yaml = strict.replace('http://api.internal:8080', '{ url: "http://api.internal:8080", weight: 4 }');
  await control.reload('api');
  const until = Date.now() + 2000;
  while (engine.pools[0]!.upstreams[0]!.weight !== 4 && Date.now() < until) await new Promise((res) => setImmediate(res));
  t.deepEqual(engine.pools[0]!.upstreams.map((u) => `${u.id} w${u.weight}`), ['http://10.0.0.1:8080 w4', 'http://10.0.0.2:8080 w4']);
  current.yaml = plain;
  await control.reload('api');
  t.deepEqual(ids(), ['http://api.internal:8080 config']);
  d.stop();
});
