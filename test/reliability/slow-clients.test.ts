/**
 * Slow clients against a velo process: slowloris (headers one byte at a time) and slow bodies.
 * While they hold on, a normal client is still served; velo's client timeouts then close them,
 * and velo's file descriptors return to their baseline.
 */
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import type { TestBackend } from '../../src/backend/test-backend.js';
import { eventually, get, startBackends } from '../integration/harness.js';
import { recordFigures, type Figure } from './figures.js';
import { agent, fdsSettle, fdsSteady, HAS_PROC, startVeloProcess, type VeloProcess } from './velo-process.js';

const HEADER_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
const FD_SLACK = 4;
const figures: Array<[string, Figure]> = [];

test.after.always(() => recordFigures('slowloris', 'Slowloris and slow bodies', figures));

const config = (backend: string): string =>
  `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\n` +
  `client_timeouts: { header: ${HEADER_TIMEOUT_MS}ms, request: ${REQUEST_TIMEOUT_MS}ms }\nbackends: [${backend}]\n`;

const SLOW_BODY_HEAD = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n';

interface Dribbler {
  connected: Promise<void>;
  /** Resolves with the time (ms after start) velo closed the connection, or -1 if it never did within the bound. */
  closedAfterMs: Promise<number>;
  /** Bytes velo sent back before closing (a 408, or nothing). */
  reply: () => string;
}

/**
 * A client that sends `head` at once and then `drip` one byte every `everyMs`, at most
 * `maxBytes` bytes and for at most `maxMs`; it never finishes its request.
 */
function dribble(port: number, head: string, everyMs: number, maxBytes: number, maxMs: number): Dribbler {
  const started = Date.now();
  let reply = '';
  const socket = net.connect(port, '127.0.0.1');
  // Written at once (queued until connected), so no dripped byte can overtake the head.
  socket.write(head);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (reply += d));
  socket.on('error', () => {});
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= maxBytes || Date.now() - started > maxMs) return void clearInterval(timer);
    socket.write(sent % 2 === 0 ? 'a' : 'b');
    sent++;
  }, everyMs);
  const closedAfterMs = new Promise<number>((resolve) => {
    const giveUp = setTimeout(() => socket.destroy(), maxMs);
    let byPeer = false;
    socket.on('end', () => (byPeer = true));
    socket.on('close', (hadError) => {
      clearTimeout(giveUp);
      clearInterval(timer);
      resolve(byPeer || hadError ? Date.now() - started : -1);
    });
  });
  return { connected, closedAfterMs, reply: () => reply };
}

interface Totals {
  total: number;
  success: number;
  failed: number;
  inFlight: number;
}

/** GET /api/metrics totals, polled until `ok` holds (or 5 s pass: the caller's assertions then report). */
async function eventuallyTotals(velo: VeloProcess, ok: (m: Totals) => boolean): Promise<Totals> {
  let last: Totals | undefined;
  await eventually(async () => ok((last = (await velo.adminJson<{ totals: Totals }>('/api/metrics')).totals)), 5000, 'velo totals').catch(() => {});
  return last!;
}

function backendConnections(backend: TestBackend): Promise<number> {
  return new Promise((resolve) => backend.server.getConnections((_err, n) => resolve(n)));
}

/** velo's fd count after one request through it (its upstream connection open) and the client gone. */
async function baseline(t: ExecutionContext, velo: VeloProcess): Promise<number> {
  const warm = agent(t, 2);
  await get(warm, `${velo.url}/warm`);
  await warm.close();
  return fdsSteady(velo);
}

test.serial('200 slowloris clients: a normal client is served meanwhile, velo closes them after its header timeout, fds back to baseline', async (t) => {
  const [backend] = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config(backend!.url));
  const fdBaseline = HAS_PROC ? await baseline(t, velo) : 0;
  const clients = Array.from({ length: 200 }, () => dribble(velo.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 100, 200, 15_000));
  await Promise.all(clients.map((c) => c.connected));
  const normal = agent(t, 2);
  let peak = 0;
  // While the slow clients hold their connections, normal requests keep being answered promptly.
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    t.is((await get(normal, `${velo.url}/normal/${i}`)).status, 200);
    t.true(Date.now() - started < 1000, `normal request ${i} took ${Date.now() - started} ms`);
    if (HAS_PROC) peak = Math.max(peak, velo.fds());
  }
  await normal.close();
  const closedAfter = await Promise.all(clients.map((c) => c.closedAfterMs));
  t.true(closedAfter.every((ms) => ms >= 0), 'velo closed every slowloris connection itself');
  const slowest = Math.max(...closedAfter);
  t.true(slowest < HEADER_TIMEOUT_MS + 2000, `all closed within the header timeout + 2 s (slowest ${slowest} ms)`);
  t.true(clients.every((c) => c.reply() === '' || c.reply().startsWith('HTTP/1.1 408')), `a reply, if any, is a 408: ${[...new Set(clients.map((c) => c.reply().split('\r\n')[0]))].join(', ')}`);
  t.is(backend!.requests, 6, 'only the warm-up and the normal requests reached the backend');
  if (HAS_PROC) {
    const after = await fdsSettle(velo, fdBaseline + FD_SLACK, 5000);
    t.true(peak >= fdBaseline + 150, `the slow clients did hold fds (peak ${peak}, baseline ${fdBaseline})`);
    t.true(after <= fdBaseline + FD_SLACK, `fds back within ${FD_SLACK} of baseline ${fdBaseline}: ${after}`);
    figures.push(
      ['slowloris clients', 200],
      ['slowloris: velo fds baseline / peak / after', `${fdBaseline} / ${peak} / ${after}`],
      ['slowloris: slowest close after (header timeout 2 s)', `${slowest} ms`],
    );
  }
  t.is((await velo.stop()).code, 0);
});

test.serial('100 slow bodies: a normal client is served meanwhile, velo ends them after its request timeout and in-flight returns to 0', async (t) => {
  const [backend] = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config(backend!.url));
  const fdBaseline = HAS_PROC ? await baseline(t, velo) : 0;
  const clients = Array.from({ length: 100 }, () => dribble(velo.port, SLOW_BODY_HEAD, 100, 400, 20_000));
  await eventually(async () => (await backendConnections(backend!)) >= 100, 5000, 'the slow bodies reached the backend');
  const normal = agent(t, 2);
  let peak = 0;
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    t.is((await get(normal, `${velo.url}/normal/${i}`)).status, 200);
    t.true(Date.now() - started < 1000, `normal request ${i} took ${Date.now() - started} ms`);
    if (HAS_PROC) peak = Math.max(peak, velo.fds());
  }
  await normal.close();
  const closedAfter = await Promise.all(clients.map((c) => c.closedAfterMs));
  t.true(closedAfter.every((ms) => ms >= 0), 'velo closed every slow-body connection itself');
  const slowest = Math.max(...closedAfter);
  t.true(slowest < REQUEST_TIMEOUT_MS + 3000, `all closed within the request timeout + 3 s (slowest ${slowest} ms)`);
  t.true(clients.every((c) => c.reply() === '' || c.reply().startsWith('HTTP/1.1 408')), 'a reply, if any, is a 408');
  const totals = await eventuallyTotals(velo, (m) => m.inFlight === 0 && m.total === 106);
  t.is(totals.inFlight, 0, 'nothing left in flight');
  t.is(totals.failed, 100, 'each abandoned slow body counted once, as failed');
  if (HAS_PROC) {
    const after = velo.fds();
    t.true(peak >= fdBaseline + 100, `the slow bodies did hold fds (peak ${peak}, baseline ${fdBaseline})`);
    figures.push(
      ['slow-body clients', 100],
      ['slow bodies: velo fds baseline / peak / right after the clients closed', `${fdBaseline} / ${peak} / ${after}`],
      ['slow bodies: slowest close after (request timeout 4 s)', `${slowest} ms`],
    );
  }
  t.is((await velo.stop()).code, 0);
});

/**
 * Was a finding of this suite: a client that stopped sending its body (408, or its own close)
 * left velo's upstream connection carrying the half-sent body open until the backend gave up
 * (~60 s): one upstream socket and fd per abandoned request. Fixed by cancelling the attempt
 * on its own socket and destroying cut client connections (issue 9).
 */
test.serial('upstream connections of abandoned request bodies are released promptly: velo times the body out (408)', async (t) => {
  const [backend] = await startBackends(t, 1);
  const velo = await startVeloProcess(t, config(backend!.url));
  const fdBaseline = await baseline(t, velo);
  const clients = Array.from({ length: 10 }, () => dribble(velo.port, SLOW_BODY_HEAD, 100, 10, 20_000));
  await eventually(() => backendConnections(backend!).then((n) => n >= 10), 5000, 'the slow bodies reached the backend');
  await Promise.all(clients.map((c) => c.closedAfterMs));
  await eventuallyTotals(velo, (m) => m.inFlight === 0);
  const after = await fdsSettle(velo, fdBaseline + FD_SLACK, REQUEST_TIMEOUT_MS);
  t.true(after <= fdBaseline + FD_SLACK, `velo fds ${after}, baseline ${fdBaseline}`);
  t.true((await backendConnections(backend!)) <= 1, 'the backend\'s connections from velo were closed');
});
