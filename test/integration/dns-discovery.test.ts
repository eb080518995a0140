/**
 * DNS discovery against a real dnsmasq (issue 12 part 1): velo started by `launch()` with
 * `dns.servers` pointing at it, test backends on 127.0.0.2 and 127.0.0.3 (both loopback on
 * Linux). The table follows the answers (strict: one backend per address, both get traffic, an
 * address gone is drained then forgotten within the TTL bound); a dead DNS server keeps the last
 * good set and says so (event, metric); a name that never resolved fails the start unless
 * `allow_unresolved`; single mode's new connections follow the name; SRV gives host, port and
 * weight. Skipped, visibly, only when dnsmasq is not installed (CI installs it: .ci/run).
 */
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { startTestBackend, type TestBackend } from '../../src/backend/test-backend.js';
import { launch, type Running } from '../../src/cli/start.js';
import { parseConfigText } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { dnsmasqInstalled, startDnsmasq } from './dnsmasq.js';
import { client, eventually, get } from './harness.js';

const installed = dnsmasqInstalled();
const dnsTest = installed ? test : test.skip;
if (!installed) test('dnsmasq is not installed: the DNS discovery tests are skipped (apt-get install dnsmasq)', (t) => t.pass());

/** Backends on 127.0.0.2 and 127.0.0.3 sharing one port (a name's addresses share the URL's port). */
async function twoHostBackends(t: ExecutionContext): Promise<[TestBackend, TestBackend]> {
  for (let i = 0; i < 20; i++) {
    const a = await startTestBackend({ host: '127.0.0.2', name: 'b2' });
    const b = await startTestBackend({ host: '127.0.0.3', port: a.port, name: 'b3' }).catch(async () => {
      await a.close();
      return undefined;
    });
    if (b === undefined) continue;
    t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
    return [a, b];
  }
  throw new Error('could not bind the same port on 127.0.0.2 and 127.0.0.3');
}

async function start(t: ExecutionContext, yaml: string): Promise<Running & { url: string; admin: string }> {
  const config = parseConfigText(yaml, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  const running = await launch(config, undefined, new Logger('silent'), { watchFile: false, accessLog: false });
  t.teardown(() => running.shutdown().then(() => undefined));
  return { ...running, url: `http://127.0.0.1:${running.engine.address.port}`, admin: `http://127.0.0.1:${running.engine.adminAddress!.port}` };
}

const table = (r: Running): string[] => r.engine.pools[0]!.upstreams.map((u) => `${u.name} ${u.source}`).sort();
const HEALTH = 'health_check: { interval: 100ms, timeout: 500ms, rise: 1, fall: 1 }\n';

dnsTest('strict: two addresses are two backends that both get traffic; an address gone from DNS is drained, then forgotten, within the TTL bound; a dead server keeps the last good set (event, metric)', async (t) => {
  const [b2, b3] = await twoHostBackends(t);
  const dns = await startDnsmasq(t, { 'api.internal': ['127.0.0.2', '127.0.0.3'] });
  const velo = await start(t, `${HEALTH}backends: ["http://api.internal:${b2.port}"]\ndns: { mode: strict, servers: ["${dns.server}"], min_ttl: 200ms, max_ttl: 1s }\n`);
  const port = b2.port;
  t.deepEqual(table(velo), [`api.internal:${port}#127.0.0.2 dns`, `api.internal:${port}#127.0.0.3 dns`], 'resolved before listening');
  const agent = client(t);
  await eventually(async () => {
    await get(agent, velo.url);
    return b2.requests > 0 && b3.requests > 0;
  }, 5000, 'traffic on both addresses');

  const gone = velo.engine.pools[0]!.upstreams.find((u) => u.name.endsWith('#127.0.0.3'))!;
  const changedAt = Date.now();
  await dns.setHosts({ 'api.internal': ['127.0.0.2'] });
  // TTL 1 s clamped to max_ttl 1 s: the next round is at most 1 s away (plus the query).
  await eventually(() => table(velo).length === 1, 3000, '127.0.0.3 gone from the table');
  t.true(Date.now() - changedAt < 3000);
  t.true(gone.draining && gone.removed, 'drained, then forgotten');
  t.deepEqual(table(velo), [`api.internal:${port}#127.0.0.2 dns`]);
  const before = b3.requests;
  for (let i = 0; i < 10; i++) t.is((await get(agent, velo.url)).status, 200);
  t.is(b3.requests, before, 'no request reaches the address DNS no longer gives');

  await dns.kill();
  const events = (): string[] => velo.engine.events.recent().map((e) => e.message);
  await eventually(() => events().some((m) => /^dns: api\.internal: (ECONNREFUSED|ETIMEOUT|EREFUSED), keeping 1 address from \d\d:\d\d:\d\d$/.test(m)), 8000, 'the failure event');
  t.deepEqual(table(velo), [`api.internal:${port}#127.0.0.2 dns`], 'the last good set stays');
  t.is((await get(agent, velo.url)).status, 200);
  const metrics = await (await request(`${velo.admin}/metrics`)).body.text();
  const failures = /velo_dns_lookup_failures_total\{pool="default",name="api.internal"\} (\d+)/.exec(metrics);
  t.truthy(failures, metrics.split('\n').filter((l) => l.includes('dns')).join('\n'));
  t.true(Number(failures![1]) >= 1);
  t.regex(metrics, /velo_dns_last_success_timestamp_seconds\{pool="default",name="api.internal"\} \d+/);
  t.is(events().filter((m) => m.startsWith('dns: api.internal: ')).length, 1, 'one event per failure streak');
});

dnsTest('a name that never resolved fails launch() naming pool, name and error; with allow_unresolved velo starts and adds the backends when the name appears', async (t) => {
  const [b2] = await twoHostBackends(t);
  const dns = await startDnsmasq(t, { 'other.internal': ['127.0.0.9'] });
  const yaml = (extra: string) => `pools:\n  - name: api\n    ${HEALTH}    backends: ["http://api.internal:${b2.port}"]\n    dns: { mode: strict, servers: ["${dns.server}"], min_ttl: 200ms, max_ttl: 1s${extra} }\n`;
  const config = parseConfigText(yaml(''), undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  await t.throwsAsync(launch(config, undefined, new Logger('silent'), { watchFile: false, accessLog: false }), {
    message: `pool "api": api.internal does not resolve (ENOTFOUND; asked ${dns.server}); fix the name or DNS, or set dns.allow_unresolved: true to start without it`,
  });

  const velo = await start(t, yaml(', allow_unresolved: true'));
  t.deepEqual(table(velo), []);
  const agent = client(t);
  t.is((await get(agent, velo.url)).status, 503);
  await dns.setHosts({ 'api.internal': ['127.0.0.2'] });
  await eventually(() => table(velo).length === 1, 5000, 'the backend added once the name resolves');
  await eventually(async () => (await get(agent, velo.url)).status === 200, 3000, 'served');
  t.true(velo.engine.events.recent().some((e) => e.message === 'dns: api.internal resolves now (1 address)'));
});

dnsTest('single: one backend per name, connections go where velo\'s resolver says (the system resolver does not know the name); new connections follow a changed answer', async (t) => {
  const [b2, b3] = await twoHostBackends(t);
  const dns = await startDnsmasq(t, { 'api.internal': ['127.0.0.2'] });
  const velo = await start(t, `${HEALTH}backends: ["http://api.internal:${b2.port}"]\ndns: { servers: ["${dns.server}"], min_ttl: 200ms, max_ttl: 1s }\n`);
  t.deepEqual(table(velo), [`api.internal:${b2.port} config`]);
  const agent = client(t);
  await eventually(async () => (await get(agent, velo.url)).headers['x-backend'] === 'b2', 5000, 'b2 answers');
  await dns.setHosts({ 'api.internal': ['127.0.0.3'] });
  // Kept-alive connections stay where they are; b2 going away forces new ones.
  await b2.close();
  await eventually(async () => (await get(agent, velo.url)).headers['x-backend'] === 'b3', 5000, 'b3 answers on a new connection');
  t.deepEqual(table(velo), [`api.internal:${b2.port} config`]);
  t.true(b3.requests > 0);
});

dnsTest('SRV: host, port and weight from the records of the lowest priority; a record removed is drained then forgotten', async (t) => {
  const w1 = await startTestBackend({ host: '127.0.0.2', name: 'w1' });
  const w2 = await startTestBackend({ host: '127.0.0.3', name: 'w2' });
  const backup = await startTestBackend({ host: '127.0.0.4', name: 'backup' });
  t.teardown(() => Promise.all([w1.close(), w2.close(), backup.close()]).then(() => undefined));
  const name = '_http._tcp.api.internal';
  const records = [
    { name, target: 'web1.internal', port: w1.port, priority: 10, weight: 10 },
    { name, target: 'web2.internal', port: w2.port, priority: 10, weight: 30 },
    { name, target: 'backup.internal', port: backup.port, priority: 20, weight: 100 },
  ];
  const dns = await startDnsmasq(t, { 'web1.internal': ['127.0.0.2'], 'web2.internal': ['127.0.0.3'], 'backup.internal': ['127.0.0.4'] }, records);
  // Its own pool name: single-mode answers are per process and pool name, and tests share the process.
  const velo = await start(t, `pools:\n  - name: srv\n    ${HEALTH}    strategy: weighted-round-robin\n    srv: ${name}\n    dns: { servers: ["${dns.server}"], min_ttl: 200ms, max_ttl: 1s }\n`);
  const weights = (): string[] => velo.engine.pools[0]!.upstreams.map((u) => `${u.name} w${u.weight} ${u.source}`).sort();
  t.deepEqual(weights(), [`web1.internal:${w1.port} w10 dns`, `web2.internal:${w2.port} w30 dns`]);
  const agent = client(t);
  await eventually(async () => {
    await get(agent, velo.url);
    return w1.requests > 0 && w2.requests > 0;
  }, 5000, 'traffic on both targets');
  t.is(backup.requests, 0, 'the higher priority value is a fallback, not in use');

  const leaving = velo.engine.pools[0]!.upstreams.find((u) => u.name.startsWith('web1'))!;
  await dns.restart([records[1]!, records[2]!]);
  await eventually(() => weights().length === 1, 5000, 'web1 gone');
  t.true(leaving.draining && leaving.removed);
  t.deepEqual(weights(), [`web2.internal:${w2.port} w30 dns`]);
});

dnsTest('with --workers 2: strict backends reach the workers and follow DNS; single-mode workers resolve the name with dns.servers themselves', async (t) => {
  const [b2, b3] = await twoHostBackends(t);
  const dns = await startDnsmasq(t, { 'api.internal': ['127.0.0.2', '127.0.0.3'], 'one.internal': ['127.0.0.2'] });
  const settings = `dns: { servers: ["${dns.server}"], min_ttl: 200ms, max_ttl: 1s`;
  const yaml = [
    'pools:',
    '  - name: workers-strict',
    '    match: { path_prefix: /s }',
    `    ${HEALTH}    backends: ["http://api.internal:${b2.port}"]`,
    `    ${settings}, mode: strict }`,
    '  - name: workers-single',
    '    match: { path_prefix: /n }',
    `    ${HEALTH}    backends: ["http://one.internal:${b2.port}"]`,
    `    ${settings} }`,
    '',
  ].join('\n');
  const config = parseConfigText(yaml, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  const running = await launch(config, undefined, new Logger('silent'), { watchFile: false, accessLog: false, workers: 2 });
  t.teardown(() => running.shutdown().then(() => undefined));
  const url = `http://127.0.0.1:${running.engine.address.port}`;
  // A new connection per request, so the kernel spreads them over both workers.
  const fresh = async (path: string): Promise<number> => {
    const res = await request(`${url}${path}`, { headers: { connection: 'close' } });
    await res.body.dump();
    return res.statusCode;
  };
  await eventually(async () => {
    await fresh('/s');
    return b2.requests > 0 && b3.requests > 0;
  }, 10_000, 'strict traffic on both addresses through the workers');
  const before = b2.requests;
  for (let i = 0; i < 6; i++) t.is(await fresh('/n'), 200, 'the single-mode name resolves in the workers');
  t.is(b2.requests, before + 6);

  await dns.setHosts({ 'api.internal': ['127.0.0.3'], 'one.internal': ['127.0.0.2'] });
  const strict = running.engine.pools.find((p) => p.name === 'workers-strict')!;
  await eventually(() => strict.upstreams.length === 1, 5000, '127.0.0.2 gone from the strict pool');
  await running.control.settled();
  const b2Before = b2.requests;
  for (let i = 0; i < 10; i++) t.is(await fresh('/s'), 200);
  t.is(b2.requests, b2Before, 'no worker sends to the address DNS no longer gives');
});
