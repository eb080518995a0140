/**
 * 5,000 idle TCP connections to a velo process: velo accepts and holds them, still serves a
 * normal client, and its file descriptors return to the baseline once they are closed.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { get, startBackends } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { closeAll, openConnections } from './raw-client.js';
import { agent, fdsReach, fdsSettle, fdsSteady, HAS_PROC, startVeloProcess } from './velo-process.js';

const IDLE = 5000;
const FD_SLACK = 4;
const figures: Array<[string, Figure]> = [];

test.after.always(() => recordFigures('idle', `${IDLE} idle connections`, figures));

/** The soft fd limit velo (a child, inheriting ours) and this process run under. */
function fdLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

// Both ends live on this machine: the test holds IDLE sockets and velo holds IDLE more, each
// process under its own limit. `npm run test:reliability` raises the soft limit when it can.
const limit = fdLimit();
const enough = HAS_PROC && limit >= IDLE + 500;
if (!enough) console.warn(`[reliability] skipping ${IDLE} idle connections: fd limit ${limit} < ${IDLE + 500} or no /proc (raise it with ulimit -n)`);

(enough ? test : test.skip)(`${IDLE} idle connections opened and closed: velo holds them, serves meanwhile, fds back to baseline`, async (t) => {
  const [backend] = await startBackends(t, 1);
  const velo = await startVeloProcess(t, `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\nbackends: [${backend!.url}]\n`);
  const warm = agent(t, 2);
  t.is((await get(warm, `${velo.url}/warm`)).status, 200);
  await warm.close();
  const fdBaseline = await fdsSteady(velo);
  const rssBefore = velo.rssBytes();

  const started = Date.now();
  const sockets = await openConnections(velo.port, IDLE);
  const openMs = Date.now() - started;
  const peak = await fdsReach(velo, fdBaseline + IDLE, 10_000);
  t.true(peak >= fdBaseline + IDLE, `velo accepted all ${IDLE} (fds ${peak}, baseline ${fdBaseline})`);
  const rssHeld = velo.rssBytes();

  const normal = agent(t, 1);
  const t0 = Date.now();
  t.is((await get(normal, `${velo.url}/while-idle`)).status, 200, 'served while 5000 connections sit idle');
  const servedMs = Date.now() - t0;
  await normal.close();

  await closeAll(sockets);
  const after = await fdsSettle(velo, fdBaseline + FD_SLACK, 10_000);
  t.true(after <= fdBaseline + FD_SLACK, `fds back within ${FD_SLACK} of baseline ${fdBaseline}: ${after}`);
  figures.push(
    ['fd soft limit', limit],
    ['velo fds baseline / peak / after', `${fdBaseline} / ${peak} / ${after}`],
    [`time to open ${IDLE} connections`, `${openMs} ms`],
    ['a normal request while they are held', `${servedMs} ms`],
    ['velo RSS before / while held', `${Math.round(rssBefore / 2 ** 20)} MiB / ${Math.round(rssHeld / 2 ** 20)} MiB`],
  );
  t.is((await velo.stop()).code, 0);
});
