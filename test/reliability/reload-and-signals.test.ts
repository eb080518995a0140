/**
 * Lifecycle under traffic, against a velo process: the config file rewritten again and again
 * while a bounded load runs (no request may fail), and SIGTERM during an in-flight request.
 */
import test from 'ava';
import { eventually, get, startBackends } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { agent, startVeloProcess } from './velo-process.js';

const figures: Array<[string, Figure]> = [];
test.after.always(() => recordFigures('reload', 'Reload under load and signals', figures));

const config = (urls: string[], strategy: string): string =>
  `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nstrategy: ${strategy}\nbackends: [${urls.join(', ')}]\n`;

test.serial('the config file rewritten 10 times under load: every request succeeds, each reload is applied', async (t) => {
  const backends = await startBackends(t, 3);
  const [a, b, c] = backends.map((x) => x.url) as [string, string, string];
  const velo = await startVeloProcess(t, config([a, b], 'round-robin'));
  const client = agent(t, 16);
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let sent = 0;
  let stop = false;
  const deadline = Date.now() + 30_000;
  const MAX_REQUESTS = 50_000;
  const worker = async (): Promise<void> => {
    while (!stop && sent < MAX_REQUESTS && Date.now() < deadline) {
      sent++;
      try {
        const { status } = await get(client, `${velo.url}/r/${sent}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  const load = Promise.all(Array.from({ length: 16 }, worker));
  const sets: Array<[string[], string]> = [
    [[b, c], 'least-connections'],
    [[a, b, c], 'random'],
    [[c], 'round-robin'],
    [[a, c], 'power-of-two'],
    [[a, b], 'round-robin'],
  ];
  const started = Date.now();
  for (let i = 0; i < 10; i++) {
    const [urls, strategy] = sets[i % sets.length]!;
    const before = velo.lines().filter((l) => l.msg === 'config reloaded').length;
    await velo.writeConfig(config(urls, strategy));
    await eventually(() => velo.lines().filter((l) => l.msg === 'config reloaded').length > before, 5000, `reload ${i + 1}`);
    const pools = await velo.adminJson<{ pools: Array<{ strategy: string; backends: Array<{ url: string; draining: boolean }> }> }>('/api/pools');
    const serving = pools.pools[0]!.backends.filter((x) => !x.draining).map((x) => x.url.replace(/\/$/, ''));
    t.deepEqual(serving.sort(), [...urls].sort(), `reload ${i + 1} applied its backends`);
    t.is(pools.pools[0]!.strategy, strategy);
  }
  stop = true;
  await load;
  const seconds = (Date.now() - started) / 1000;
  const ok = statuses.get(200) ?? 0;
  t.deepEqual(errors, [], 'no request failed at the client');
  t.deepEqual([...statuses.keys()], [200], `only 200s: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.true(ok > 100, `the load ran throughout (${ok} requests)`);
  type Totals = { total: number; failed: number; inFlight: number };
  let totals: Totals | undefined;
  // The admin snapshot may be up to one sampler tick old: poll for the settled counters.
  await eventually(async () => (totals = (await velo.adminJson<{ totals: Totals }>('/api/metrics')).totals).inFlight === 0, 5000, 'in-flight 0').catch(() => {});
  t.is(totals!.inFlight, 0, 'in-flight back to 0');
  t.is(totals!.failed, 0, 'velo counted no failure');
  t.is(totals!.total, sent, 'velo counted every request once');
  figures.push(['reload under load', `10 reloads in ${seconds.toFixed(1)} s, ${ok} requests (16 concurrent), 0 failed`]);
  t.is((await velo.stop()).code, 0);
});

test.serial('SIGTERM during an in-flight slow request: the request completes and velo exits 0', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config([backends[0]!.url], 'round-robin'));
  const slow = get(agent(t, 1), `${velo.url}/delay/1500`);
  await eventually(() => backends[0]!.requests === 1, 5000, 'the slow request reached the backend');
  const signalledAt = Date.now();
  velo.child.kill('SIGTERM');
  const reply = await slow;
  t.is(reply.status, 200, 'the in-flight request finished during the drain');
  const exit = await velo.exited;
  t.deepEqual(exit, { code: 0, signal: null });
  figures.push(['SIGTERM with a 1.5 s request in flight', `request 200, exit 0 after ${Date.now() - signalledAt} ms`]);
});

test.serial('a second SIGTERM during the drain keeps draining and says what a third does; the in-flight request completes, exit 0', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config([backends[0]!.url], 'round-robin'));
  const slow = get(agent(t, 1), `${velo.url}/delay/1500`);
  await eventually(() => backends[0]!.requests === 1, 5000, 'the slow request reached the backend');
  velo.child.kill('SIGTERM');
  await eventually(() => velo.lines().some((l) => l.msg === 'signal received, draining'), 5000, 'the drain began');
  velo.child.kill('SIGTERM');
  await eventually(() => velo.lines().some((l) => String(l.msg).startsWith('still draining: 1 requests in flight')), 5000, 'the second signal is answered');
  const reply = await slow;
  t.is(reply.status, 200, 'the in-flight request finished');
  t.is(reply.headers.connection, 'close', 'a response sent during the drain closes its connection');
  t.deepEqual(await velo.exited, { code: 0, signal: null });
  const stopped = velo.lines().find((l) => l.msg === 'stopped');
  t.like(stopped, { cut: 0, forced: false, requests: 1, success: 1, failed: 0 });
  figures.push(['second SIGTERM during the drain', 'logged what a third does; request 200; exit 0']);
});

test.serial('a third SIGTERM during the drain cuts the in-flight request at once and exits 1', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config([backends[0]!.url], 'round-robin'));
  const slow = get(agent(t, 1), `${velo.url}/delay/20000`).then(
    (r) => `completed ${r.status}`,
    () => 'cut',
  );
  await eventually(() => backends[0]!.requests === 1, 5000, 'the slow request reached the backend');
  velo.child.kill('SIGTERM');
  await eventually(() => velo.lines().some((l) => l.msg === 'signal received, draining'), 5000, 'the drain began');
  velo.child.kill('SIGTERM');
  await eventually(() => velo.lines().some((l) => String(l.msg).startsWith('still draining')), 5000, 'the second signal is answered');
  const third = Date.now();
  velo.child.kill('SIGTERM');
  const exit = await velo.exited;
  const tookMs = Date.now() - third;
  t.deepEqual(exit, { code: 1, signal: null });
  t.true(tookMs < 3000, `exited ${tookMs} ms after the third signal`);
  t.is(await slow, 'cut');
  t.true(velo.lines().some((l) => l.msg === 'forced stop: cutting 1 requests in flight'));
  t.like(velo.lines().find((l) => l.msg === 'stopped'), { cut: 1, forced: true });
  figures.push(['third SIGTERM during the drain', `in-flight request cut; exit 1 after ${tookMs} ms`]);
});
