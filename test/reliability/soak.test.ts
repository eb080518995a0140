/**
 * A bounded soak against a velo process: steady load while backends are killed and restarted
 * every few seconds. Afterwards velo's counters agree with the client's, nothing is left in
 * flight, and its fds and RSS are back within bounds. 30 s by default; `VELO_SOAK_MS=N`, or
 * `VELO_FULL=1` / `--full` (after `--` on ava's command line) for the full 3 minutes.
 */
import test from 'ava';
import { startTestBackend, type TestBackend } from '../../src/backend/test-backend.js';
import { eventually, get } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { agent, fdsSettle, fdsSteady, HAS_PROC, mib, startVeloProcess, type VeloProcess } from './velo-process.js';

const FULL = process.env.VELO_FULL === '1' || process.argv.includes('--full');
const SOAK_MS = Number(process.env.VELO_SOAK_MS ?? (FULL ? 180_000 : 30_000));
const CONCURRENCY = 8;
const KILL_EVERY_MS = 3000;
const DOWN_FOR_MS = 1500;
const FD_SLACK = 3 * CONCURRENCY;
const RSS_GROWTH_LIMIT = 100 * 1024 ** 2;
const figures: Array<[string, Figure]> = [];
test.after.always(() => recordFigures('soak', 'Soak with backends killed and restarted', figures));

interface Totals {
  total: number;
  success: number;
  failed: number;
  inFlight: number;
}

async function totals(velo: VeloProcess, takenAfter = 0): Promise<Totals> {
  const m = await velo.adminJson<{ totals: Totals; takenAt: string }>('/api/metrics');
  // A snapshot taken before `takenAfter` (wall-clock ms) is stale: read as still moving.
  return Date.parse(m.takenAt) > takenAfter ? m.totals : { ...m.totals, inFlight: -1 };
}

/**
 * Totals once nothing is in flight, from snapshots taken after the call (the admin snapshot may
 * be a sampler tick old: two quick reads of one stale snapshot once agreed while it still
 * lacked the last requests of the warm-up, and the soak then counted them as its own).
 */
async function settledTotals(velo: VeloProcess): Promise<Totals> {
  const after = Date.now();
  let previous = await totals(velo, after);
  await eventually(async () => {
    const now = await totals(velo, after);
    const same = now.inFlight === 0 && previous.inFlight === 0 && now.total === previous.total;
    previous = now;
    return same;
  }, 10_000, 'velo totals settled');
  return previous;
}

test(`soak ${Math.round(SOAK_MS / 1000)} s, a backend killed every ${KILL_EVERY_MS / 1000} s: counts agree, in-flight 0, fds and RSS within bounds`, async (t) => {
  t.timeout(SOAK_MS + 120_000);
  const backends: TestBackend[] = await Promise.all([0, 1, 2].map((i) => startTestBackend({ name: `s${i}` })));
  t.teardown(() => Promise.all(backends.map((b) => b.close())).then(() => undefined));
  const ports = backends.map((b) => b.port);
  const velo = await startVeloProcess(
    t,
    `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nstrategy: least-connections\n` +
      `health_check: { interval: 200ms, timeout: 200ms, rise: 1, fall: 1 }\n` +
      `circuit_breaker: { failure_threshold: 3, reset_timeout: 500ms }\n` +
      `backends: [${backends.map((b) => b.url).join(', ')}]\n`,
  );
  const client = agent(t, CONCURRENCY);

  let sent = 0;
  let ok = 0;
  let clientErrors = 0;
  const statuses = new Map<number, number>();
  const run = async (until: number, count: boolean): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (Date.now() < until) {
        if (count) sent++;
        try {
          const { status } = await get(client, `${velo.url}/soak`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
          if (count) {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status < 500) ok++;
          }
        } catch {
          if (count) clientErrors++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };

  // Warm-up: the same load for 1 s, so the baseline includes velo's upstream keep-alive sockets.
  await run(Date.now() + 1000, false);
  const warm = await settledTotals(velo);
  const fdBaseline = HAS_PROC ? await fdsSteady(velo) : 0;
  const rssBaseline = HAS_PROC ? velo.rssBytes() : 0;

  const started = Date.now();
  const end = started + SOAK_MS;
  let kills = 0;
  let peakFds = 0;
  const chaos = (async () => {
    for (let i = 0; Date.now() + KILL_EVERY_MS < end && i < 1000; i++) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS - DOWN_FOR_MS));
      const k = i % backends.length;
      await backends[k]!.close();
      kills++;
      await new Promise((r) => setTimeout(r, DOWN_FOR_MS));
      backends[k] = await startTestBackend({ port: ports[k], name: `s${k}` });
      if (HAS_PROC) peakFds = Math.max(peakFds, velo.fds());
    }
  })();
  await Promise.all([run(end, true), chaos]);
  const seconds = (Date.now() - started) / 1000;

  // Every backend is back: velo sees them healthy again, and its counters settle.
  await eventually(async () => {
    const h = await velo.adminJson<{ pools: Array<{ healthy: number; total: number }> }>('/api/health');
    return h.pools[0]!.healthy === 3;
  }, 10_000, 'all backends healthy again');
  let last: Totals | undefined;
  await eventually(async () => {
    last = await totals(velo);
    return last.inFlight === 0 && last.total - warm.total === sent;
  }, 10_000, 'velo totals settled').catch(() => {});
  const soak = { total: last!.total - warm.total, success: last!.success - warm.success, failed: last!.failed - warm.failed };
  t.is(last!.inFlight, 0, 'nothing left in flight');
  t.is(soak.total, sent, 'velo counted every request the client sent, once');
  t.is(soak.total, soak.success + soak.failed, 'total = success + failed');
  t.is(soak.success, ok, 'velo\'s successes are the client\'s non-5xx answers');
  t.is(soak.failed, sent - ok, 'velo\'s failures are the client\'s 5xx answers and errors');
  t.true(kills >= Math.floor(SOAK_MS / KILL_EVERY_MS) - 1, `backends were killed (${kills})`);
  t.true(ok / sent > 0.9, `most requests succeeded despite the kills (${ok} of ${sent})`);
  for (const b of await velo.adminJson<{ backends: Array<{ inFlight: number }> }>('/api/metrics').then((m) => m.backends)) t.is(b.inFlight, 0);

  const figureRows: Array<[string, Figure]> = [
    ['soak length, load', `${seconds.toFixed(0)} s, ${CONCURRENCY} concurrent clients, least-connections, 3 backends`],
    ['backend kills (1.5 s down each)', kills],
    ['client: sent / non-5xx / 5xx / errors', `${sent} / ${ok} / ${sent - ok - clientErrors} / ${clientErrors}`],
    ['client: statuses', [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')],
    ['velo: total / success / failed (soak only)', `${soak.total} / ${soak.success} / ${soak.failed}`],
    ['throughput', `${Math.round(sent / seconds)} req/s`],
  ];
  if (HAS_PROC) {
    const fdsAfter = await fdsSettle(velo, fdBaseline + FD_SLACK, 10_000);
    const rssAfter = velo.rssBytes();
    t.true(fdsAfter <= fdBaseline + FD_SLACK, `fds within ${FD_SLACK} of baseline ${fdBaseline}: ${fdsAfter}`);
    t.true(rssAfter - rssBaseline < RSS_GROWTH_LIMIT, `RSS grew ${mib(rssAfter - rssBaseline)} MiB`);
    figureRows.push(
      ['velo fds baseline / peak / after', `${fdBaseline} / ${peakFds} / ${fdsAfter}`],
      ['velo RSS baseline / after / peak (VmHWM)', `${mib(rssBaseline)} / ${mib(rssAfter)} / ${mib(velo.peakRssBytes())} MiB`],
    );
  }
  figures.push(...figureRows);
  t.is((await velo.stop()).code, 0);
});
