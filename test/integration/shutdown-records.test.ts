/**
 * What the access log says about work velo itself cuts at shutdown: `SD`, never a backend
 * failure, and every tunnel closed by the shutdown logged before `stop()` resolves.
 */
import test from 'ava';
import { client, get, startBackends, startVelo } from './harness.js';
import { HANDSHAKE, converse } from './raw-peers.js';
import type { RequestRecord } from '../../src/engine/request-record.js';

test('a request still in flight when shutdown_timeout runs out is logged SD with no status, not as the backend failing', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVelo(t, 'health_check: { enabled: false }\nshutdown_timeout: 300ms\n', backends.map((b) => b.url));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const slow = get(client(t), `${velo.url}/delay/5000`).then(
    () => 'answered',
    () => 'cut',
  );
  while (backends[0]!.requests === 0) await new Promise((r) => setTimeout(r, 10));
  const summary = await velo.engine.stop();
  t.like(summary, { cut: 1, forced: false });
  t.is(await slow, 'cut');
  t.like(records.at(-1), { termination: 'SD', status: 0 });
  const u = velo.engine.pools[0]!.upstreams[0]!;
  t.is(u.counters.failures, 0);
  t.is(u.breaker.failures, 0);
});

test('a WebSocket tunnel closed by shutdown is logged (101, SD) before stop() resolves and counted in the summary', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startVelo(t, 'health_check: { enabled: false }\nshutdown_timeout: 1s\n', backends.map((b) => b.url));
  const records: RequestRecord[] = [];
  velo.engine.observers.push((r) => records.push(r));
  const c = converse(t, velo.engine.address.port);
  c.socket.write(HANDSHAKE);
  await c.until('\r\n\r\n');
  const summary = await velo.engine.stop();
  t.like(summary, { cut: 0, tunnelsClosed: 1 });
  t.like(records, [{ status: 101, termination: 'SD' }]);
  t.is(velo.engine.totals.inFlight, 0);
});
