/**
 * Maintenance (HAProxy's MAINT) and empty pools on real sockets: a backend in maintenance gets
 * no request from a sticky client or in panic mode while its health checks keep running; a
 * pool with no backend answers 503 (termination UH) and fills at runtime.
 */
import test from 'ava';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { client, eventually, FAST_HEALTH, get, refusingUrl, startBackends, startVelo, tally } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

test('a sticky cookie for a backend in maintenance is not honoured', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startVelo(t, `${NO_HEALTH}sticky: { cookie: route }\n`, backends.map((b) => b.url));
  const agent = client(t);
  const first = await get(agent, velo.url);
  const cookie = String(first.headers['set-cookie']).split(';', 1)[0]!;
  const pinned = first.body.trim();
  for (let i = 0; i < 3; i++) t.is((await get(agent, velo.url, { headers: { cookie } })).body.trim(), pinned, 'pinned while in service');
  velo.control.setMaintenance('default', backends[Number(pinned.slice(1))]!.url, true, 'cli');
  for (let i = 0; i < 4; i++) t.not((await get(agent, velo.url, { headers: { cookie } })).body.trim(), pinned, `request ${i} not sent to the backend in maintenance`);
});

test('panic mode balances over unhealthy backends but never one in maintenance; its health checks keep running', async (t) => {
  const backends = await startBackends(t, 2);
  const urls = [...backends.map((b) => b.url), refusingUrl(), refusingUrl(2), refusingUrl(3)];
  const velo = await startVelo(t, `${FAST_HEALTH}panic_threshold: 50\nretry: { attempts: 0 }\n`, urls);
  const pool = velo.engine.pools[0]!;
  await eventually(() => pool.upstreams.filter((u) => u.health.state === 'unhealthy').length === 3 && pool.upstreams.filter((u) => u.health.state === 'healthy').length === 2, 5000, 'three down, two up');
  // Two of five are up: panic. Maintenance on one healthy backend leaves it out of the count
  // (planned, not a failure): one of four.
  t.is(pool.healthyPercent(), 40);
  const maint = pool.find(backends[0]!.url)!;
  velo.control.setMaintenance('default', maint.id, true, 'cli');
  t.is(pool.healthyPercent(), 25);
  const agent = client(t);
  const names: string[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await get(agent, velo.url);
    names.push(r.status === 200 ? r.body.trim() : String(r.status));
  }
  t.false(names.includes('b0'), `maintenance backend never picked in panic mode: ${JSON.stringify(tally(names))}`);
  t.true(names.includes('502'), 'panic mode did use the unhealthy backends');
  const checksBefore = maint.lastCheck?.at ?? 0;
  await eventually(() => (maint.lastCheck?.at ?? 0) > checksBefore, 5000, 'a health check of the backend in maintenance');
  t.is(maint.health.state, 'healthy');
  t.is(velo.engine.sampler.tick().pools[0]!.backends[0]!.state, 'maint');
});

test('draining or maintenance never pushes a pool into panic: planned states are not failures', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startVelo(t, `${NO_HEALTH}panic_threshold: 60\n`, backends.map((b) => b.url));
  const pool = velo.engine.pools[0]!;
  velo.control.setMaintenance('default', backends[0]!.url, true, 'cli');
  t.is(pool.healthyPercent(), 100);
  velo.control.setMaintenance('default', backends[0]!.url, false, 'cli');
  velo.control.drain('default', backends[1]!.url, 'cli');
  t.is(pool.healthyPercent(), 100);
  const agent = client(t);
  for (let i = 0; i < 4; i++) t.is((await get(agent, velo.url)).body.trim(), 'b0', 'the drained backend gets nothing, panic or not');
});

test('an empty pool answers 503 with UH, says so in the snapshot, and serves once a backend is added', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}backends: []\n`);
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const agent = client(t);
  const r = await get(agent, velo.url);
  t.is(r.status, 503);
  t.truthy(r.headers['retry-after']);
  t.is(records[0]!.termination, 'UH');
  t.like(velo.engine.sampler.tick().pools[0], { healthyCount: 0, backends: [] });
  velo.control.addBackend('default', { url: backends[0]!.url }, 'api');
  t.is((await get(agent, velo.url)).body.trim(), 'b0');
});
