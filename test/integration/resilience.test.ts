import test from 'ava';
import net from 'node:net';
import http from 'node:http';
import { startTestBackend } from '../../src/backend/test-backend.js';
import type { RequestRecord } from '../../src/engine/request-record.js';
import { client, eventually, get, refusingUrl, startBackends, startVelo, tally } from './harness.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

test('1 dead and 2 healthy backends: every GET is 200 and the dead one is never tried twice in one request', async (t) => {
  const backends = await startBackends(t, 2);
  const urls = [refusingUrl(), ...backends.map((b) => b.url)];
  const velo = await startVelo(t, `${NO_HEALTH}circuit_breaker: { enabled: false }\n`, urls);
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const agent = client(t);
  const replies = await Promise.all(Array.from({ length: 90 }, () => get(agent, velo.url)));
  t.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
  const dead = velo.engine.pools[0]!.upstreams[0]!;
  const retried = records.filter((r) => r.attempts === 2).length;
  t.true(records.every((r) => r.attempts <= 2), 'at most one extra attempt per request');
  t.is(dead.counters.failures, retried, 'each failure on the dead backend belongs to a different request');
  t.true(retried >= 25, `round robin sent about a third to the dead backend, saw ${retried}`);
});

test('a POST is never replayed after its bytes went out; a refused POST is', async (t) => {
  let bodiesSeen = 0;
  const resetter = http.createServer((req) => {
    req.on('data', () => {});
    req.on('end', () => {
      bodiesSeen += 1;
      req.socket.destroy();
    });
  });
  await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => resetter.close(() => r())));
  const [good] = await startBackends(t, 1);
  const resetUrl = `http://127.0.0.1:${(resetter.address() as net.AddressInfo).port}`;
  const velo = await startVelo(t, NO_HEALTH, [resetUrl, good!.url]);
  const agent = client(t);
  const post = await get(agent, `${velo.url}/echo`, { method: 'POST', body: 'pay once' });
  t.is(post.status, 502);
  t.is(bodiesSeen, 1);
  t.is(good!.requests, 0, 'the POST was not sent to the second backend');
  const put = await get(agent, `${velo.url}/echo`, { method: 'PUT', body: 'idempotent' });
  t.is(put.status, 200, 'an idempotent PUT is retried elsewhere, body replayed');
  t.is((JSON.parse(put.body) as { body: string }).body, 'idempotent');

  const [target] = await startBackends(t, 1);
  const velo2 = await startVelo(t, NO_HEALTH, [refusingUrl(), target!.url]);
  const refused = await get(agent, `${velo2.url}/echo`, { method: 'POST', body: 'never sent before' });
  t.is(refused.status, 200, 'a connect failure sent nothing, so even a POST may go elsewhere');
  t.is((JSON.parse(refused.body) as { body: string }).body, 'never sent before');
});

test('circuit breaker: opens after N failures, traffic moves, half-open probes close it (injected clock)', async (t) => {
  const [flaky, steady] = await startBackends(t, 2);
  let now = 1_000_000;
  const yaml = `${NO_HEALTH}retry: { attempts: 0 }\ncircuit_breaker: { failure_threshold: 3, reset_timeout: 10s, half_open_requests: 2, count_5xx: true }\n`;
  const velo = await startVelo(t, yaml, [flaky!.url, steady!.url], { clock: () => now });
  const breaker = velo.engine.pools[0]!.upstreams[0]!.breaker;
  const agent = client(t);
  flaky!.setFailRate(1);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(agent, velo.url)).status);
  t.deepEqual(statuses, [500, 200, 500, 200, 500, 200]);
  t.is(breaker.state, 'open');
  const whileOpen: string[] = [];
  for (let i = 0; i < 6; i++) whileOpen.push((await get(agent, velo.url)).headers['x-backend'] as string);
  t.deepEqual(tally(whileOpen), { b1: 6 }, 'an open breaker sends its traffic to the others, never a 503');
  now += 10_000;
  t.is(breaker.state, 'half-open');
  t.is((await get(agent, velo.url)).status, 500, 'a half-open probe reached the still-failing backend');
  t.is(breaker.state, 'open', 'a failed probe reopens');
  now += 10_000;
  flaky!.setFailRate(0);
  const recovered: string[] = [];
  for (let i = 0; i < 4; i++) recovered.push((await get(agent, velo.url)).headers['x-backend'] as string);
  t.is(breaker.state, 'closed', 'two successful probes close it');
  t.true(recovered.includes('b0'));
  const transitions = velo.engine.events.recent().filter((e) => e.kind === 'circuit').map((e) => e.message.replace(/^\S+ circuit /, ''));
  t.deepEqual(transitions, ['closed -> open', 'open -> half-open', 'half-open -> open', 'open -> half-open', 'half-open -> closed']);
});

test('the retry budget caps retries during a full outage', async (t) => {
  // A slow outage: every backend accepts and never answers, so retries pile up.
  const hanging = await Promise.all(
    Array.from({ length: 3 }, async () => {
      const server = http.createServer(() => {});
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.teardown(() => {
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
      });
      return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    }),
  );
  const base = `${NO_HEALTH}circuit_breaker: { enabled: false }\n`;
  const retry = 'attempts: 2, backoff_base: 10ms, backoff_cap: 20ms, per_try_timeout: 200ms';
  const capped = await startVelo(t, `${base}retry: { ${retry}, budget_percent: 20, budget_min: 3 }\n`, hanging);
  const unbounded = await startVelo(t, `${base}retry: { ${retry}, budget_percent: 100, budget_min: 100 }\n`, hanging);
  // The budget bounds retries *in flight* (Envoy): record the most at once, which, unlike the
  // total, does not depend on how fast a loaded machine delivers the 50 requests.
  const budget = capped.engine.pools[0]!.retryBudget;
  let inFlight = budget.retriesInFlight;
  let mostInFlight = 0;
  Object.defineProperty(budget, 'retriesInFlight', {
    get: () => inFlight,
    set: (v: number) => {
      inFlight = v;
      mostInFlight = Math.max(mostInFlight, v);
    },
  });
  const agent = client(t, 128);
  const burst = async (url: string): Promise<number[]> => (await Promise.all(Array.from({ length: 50 }, () => get(agent, url)))).map((r) => r.status);
  const [cappedStatuses, unboundedStatuses] = await Promise.all([burst(capped.url), burst(unbounded.url)]);
  t.deepEqual([...new Set(cappedStatuses)], [504]);
  t.deepEqual([...new Set(unboundedStatuses)], [504]);
  t.is(unbounded.engine.totals.retries, 100, 'without a budget every request retries twice');
  t.true(mostInFlight <= 10, `20% of at most 50 active = 10 retries in flight; saw ${mostInFlight}`);
  t.true(capped.engine.totals.retries < 100, `fewer retries than without a budget; saw ${capped.engine.totals.retries}`);
  t.true(capped.engine.totals.retries >= 3, 'the minimum is always allowed');
});

test('max_connections with a bounded queue: exact counts of 200s and 503s', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}max_connections: 2\nqueue: { size: 3, timeout: 5s }\n`, [b!.url]);
  const agent = client(t, 64);
  // Long enough that all ten are in before the first two finish, even on a loaded machine.
  const pending = Array.from({ length: 10 }, () => get(agent, `${velo.url}/delay/1500`));
  await eventually(() => velo.engine.pools[0]!.queueDepth === 3, 3000, 'queue filled');
  velo.engine.sampler.tick();
  t.is(velo.engine.snapshot.pools[0]!.queueDepth, 3, 'queue depth is in the snapshot');
  const replies = await Promise.all(pending);
  t.deepEqual(tally(replies.map((r) => String(r.status))), { '200': 5, '503': 5 });
  t.true(replies.filter((r) => r.status === 503).every((r) => r.headers['retry-after'] !== undefined));
  t.is(velo.engine.pools[0]!.upstreams[0]!.inFlight, 0);
  t.is(velo.engine.pools[0]!.queueDepth, 0);
});

test('a queued request that waits longer than queue.timeout gets 503', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}max_connections: 1\nqueue: { size: 10, timeout: 100ms }\n`, [b!.url]);
  const agent = client(t, 64);
  const replies = await Promise.all(Array.from({ length: 4 }, () => get(agent, `${velo.url}/delay/600`)));
  t.deepEqual(tally(replies.map((r) => String(r.status))), { '200': 1, '503': 3 });
});

test('outlier detection ejects a backend answering 502s, but never more than max_ejection_percent', async (t) => {
  const good = await startBackends(t, 1);
  const bad = await Promise.all([startTestBackend({ name: 'bad0', status: 502 }), startTestBackend({ name: 'bad1', status: 502 })]);
  t.teardown(() => Promise.all(bad.map((b) => b.close())).then(() => undefined));
  const yaml = `${NO_HEALTH}retry: { attempts: 0 }\ncircuit_breaker: { enabled: false }\noutlier_detection: { consecutive_failures: 3, base_ejection_time: 30s, max_ejection_percent: 34 }\n`;
  const velo = await startVelo(t, yaml, [good[0]!.url, bad[0]!.url, bad[1]!.url]);
  const agent = client(t);
  for (let i = 0; i < 12; i++) await get(agent, velo.url);
  const [, u1, u2] = velo.engine.pools[0]!.upstreams;
  t.is([u1!.isEjected(), u2!.isEjected()].filter(Boolean).length, 1, 'only one of three may be ejected at 34%');
  const ejected = u1!.isEjected() ? bad[0]! : bad[1]!;
  const before = ejected.requests;
  for (let i = 0; i < 9; i++) await get(agent, velo.url);
  t.is(ejected.requests, before, 'an ejected backend gets no traffic');
  t.true(velo.engine.events.recent().some((e) => e.kind === 'outlier' && /ejected for 30s/.test(e.message)));
});

test('panic threshold: below it, traffic spreads over all backends; off by default, it is 503', async (t) => {
  const backends = await startBackends(t, 3);
  backends[1]!.setHealthy(false);
  backends[2]!.setHealthy(false);
  const health = 'health_check: { interval: 1s, timeout: 200ms }\n';
  const panicking = await startVelo(t, `${health}panic_threshold: 50\n`, backends.map((b) => b.url));
  await eventually(() => panicking.engine.pools[0]!.upstreams.filter((u) => u.health.state === 'unhealthy').length === 2, 3000, 'two unhealthy');
  const agent = client(t);
  const names: string[] = [];
  for (let i = 0; i < 30; i++) names.push((await get(agent, panicking.url)).body.trim());
  t.deepEqual(tally(names), { b0: 10, b1: 10, b2: 10 }, 'panic mode balances over every backend');

  backends[0]!.setHealthy(false);
  const strict = await startVelo(t, health, backends.map((b) => b.url));
  await eventually(() => strict.engine.pools[0]!.upstreams.every((u) => u.health.state === 'unhealthy'), 3000, 'all unhealthy');
  t.is((await get(agent, strict.url)).status, 503);
});

test('slow start: a recovered backend ramps its weight and the snapshot shows the percentage', async (t) => {
  const backends = await startBackends(t, 2);
  let now = 5_000_000;
  // A 2 s probe timeout: with fall 1, a probe of b0 timing out on a loaded machine would leave b1 all the traffic.
  const yaml = `strategy: weighted-round-robin\nslow_start: 10s\nhealth_check: { interval: 50ms, timeout: 2s, rise: 1, fall: 1 }\n`;
  const velo = await startVelo(t, yaml, backends.map((b) => b.url), { clock: () => now });
  const u1 = velo.engine.pools[0]!.upstreams[1]!;
  await eventually(() => u1.health.state === 'healthy', 3000, 'healthy');
  backends[1]!.setHealthy(false);
  await eventually(() => u1.health.state === 'unhealthy', 3000, 'unhealthy');
  backends[1]!.setHealthy(true);
  await eventually(() => u1.health.state === 'healthy', 3000, 'recovered');
  now += 2_500;
  velo.engine.sampler.tick();
  const snap = velo.engine.snapshot.pools[0]!.backends[1]!;
  t.is(snap.rampPercent, 25);
  t.is(snap.effectiveWeight, 0.25);
  const agent = client(t);
  const names: string[] = [];
  for (let i = 0; i < 50; i++) names.push((await get(agent, velo.url)).body.trim());
  const counts = tally(names);
  t.true((counts.b1 ?? 0) >= 5 && (counts.b1 ?? 0) <= 15, `a 25% ramp gets about 1/5 of the traffic, got ${counts.b1}`);
  now += 10_000;
  velo.engine.sampler.tick();
  t.is(velo.engine.snapshot.pools[0]!.backends[1]!.rampPercent, 100);
});

test('client header timeout closes a slowloris connection', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `${NO_HEALTH}client_timeouts: { header: 300ms }\n`, [b!.url]);
  const socket = net.connect(velo.engine.address.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const started = Date.now();
  const drip = setInterval(() => socket.writable && socket.write('X-Drip: 1\r\n'), 50);
  t.teardown(() => clearInterval(drip));
  let reply = '';
  socket.on('data', (d) => (reply += d));
  await new Promise((resolve) => socket.once('close', resolve));
  const elapsed = Date.now() - started;
  t.true(elapsed < 2000, `closed after ${elapsed}ms`);
  t.regex(reply, /^HTTP\/1\.1 408 Request Timeout/);
});

test('upstream idle timeout ends a response that stalls mid-body', async (t) => {
  const staller = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
  });
  await new Promise<void>((r) => staller.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    staller.closeAllConnections();
    return new Promise<void>((r) => staller.close(() => r()));
  });
  const velo = await startVelo(t, `${NO_HEALTH}timeouts: { idle: 300ms }\n`, [`http://127.0.0.1:${(staller.address() as net.AddressInfo).port}`]);
  const started = Date.now();
  const outcome = await get(client(t), velo.url).then(
    () => 'completed',
    () => 'cut',
  );
  t.is(outcome, 'cut');
  t.true(Date.now() - started < 2000);
});

test('chaos: 50 clients for 10 s while backends are killed and restarted, zero failed GETs', async (t) => {
  t.timeout(40_000);
  const first = await startBackends(t, 3);
  const ports = first.map((b) => b.port);
  const live = [...first];
  t.teardown(() => Promise.all(live.map((b) => b?.close())).then(() => undefined));
  const velo = await startVelo(t, 'health_check: { interval: 200ms, timeout: 1s, rise: 1, fall: 2 }\n', first.map((b) => b.url));
  const agent = client(t, 64);
  const deadline = Date.now() + 10_000;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const r = await get(agent, velo.url).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
      if (r.status === 200) ok += 1;
      else failures.push(`${r.status} ${r.body}`);
    }
  };
  const chaos = async (): Promise<void> => {
    let i = 0;
    while (Date.now() < deadline - 300) {
      // Kill one of the two chaos backends (index 1 or 2); backend 0 stays up the whole time.
      const victim = 1 + (i % 2);
      await live[victim]!.close();
      await new Promise((r) => setTimeout(r, 150 + (i % 3) * 100));
      live[victim] = await startTestBackend({ port: ports[victim], name: `b${victim}` });
      await new Promise((r) => setTimeout(r, 150));
      i += 1;
    }
  };
  await Promise.all([...Array.from({ length: 50 }, worker), chaos()]);
  const kinds = tally(failures.map((f) => f.replace(/"request_id":"[^"]*"/, '')));
  t.deepEqual(kinds, {}, `${failures.length} failed of ${ok + failures.length}`);
  t.true(ok > 1000, `served ${ok}`);
});

test('rate_limit: a client past its burst gets 429 with Retry-After and never reaches a backend', async (t) => {
  const [b] = await startBackends(t, 1);
  // velo's clock stands still: no token comes back mid-test however slow the machine is.
  const velo = await startVelo(t, `${NO_HEALTH}rate_limit: { rps: 1, burst: 3 }\n`, [b!.url], { clock: () => 1_000 });
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const agent = client(t);
  const statuses: number[] = [];
  let limited;
  for (let i = 0; i < 5; i++) {
    const r = await get(agent, velo.url);
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  t.deepEqual(statuses, [200, 200, 200, 429, 429]);
  t.is(limited!.headers['retry-after'], '1');
  t.is(JSON.parse(limited!.body).error, 'rate limited');
  t.is(velo.engine.totals.rateLimited, 2);
  t.deepEqual(records.map((r) => r.termination), ['-', '-', '-', 'RL', 'RL']);
  t.is(b!.requests, 3, 'limited requests never reach a backend');
});

test('sticky: the first response pins the client to its backend by cookie, until that backend is unavailable', async (t) => {
  const backends = await startBackends(t, 3);
  const velo = await startVelo(t, `${NO_HEALTH}sticky: { cookie: route }\n`, backends.map((b) => b.url));
  const agent = client(t);
  const first = await get(agent, velo.url);
  const setCookie = String(first.headers['set-cookie']);
  t.regex(setCookie, /^route=[A-Za-z0-9_-]{16}\.\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
  const cookie = setCookie.split(';')[0]!;
  const names = new Set<string>();
  for (let i = 0; i < 9; i++) {
    const r = await get(agent, velo.url, { headers: { cookie: `other=1; ${cookie}` } });
    names.add(r.body.trim());
    t.is(r.headers['set-cookie'], undefined, 'no new cookie while the pin holds');
  }
  t.deepEqual([...names], [first.body.trim()]);
  const pinned = velo.engine.pools[0]!.upstreams.find((u) => u.name === `127.0.0.1:${backends[Number(first.body.trim().slice(1))]!.port}`)!;
  velo.control.drain('default', pinned.id);
  const moved = await get(agent, velo.url, { headers: { cookie } });
  t.not(moved.body.trim(), first.body.trim(), 'a draining backend releases its sticky clients');
  t.regex(String(moved.headers['set-cookie']), /^route=/, 'and they get a new pin');
});
