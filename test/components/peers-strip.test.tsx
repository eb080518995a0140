/**
 * The peers strip under the header (issue 11 part 3: "each instance's dashboard lists its peers
 * and their state"): absent without `cluster.redis`; with it, this instance, its Redis link and
 * each peer with its state and backends; the whole screen still fits the terminal.
 */
import test from 'ava';
import type { ClusterStatus, PeerSnapshot } from '../../src/metrics/snapshot.js';
import { backends, renderDashboard, snapshot } from './render-helper.js';

const CLUSTER: ClusterStatus = { instance: 'web-1:8080', connected: true, redis: 'redis://127.0.0.1:6379', rateLimitFallbacks: 0, pendingChanges: 0 };

function peer(instance: string, overrides: Partial<PeerSnapshot> = {}): PeerSnapshot {
  return {
    instance,
    version: '9.9.9',
    listen: `http://${instance}`,
    admin: null,
    startedAt: 0,
    uptimeMs: 60_000,
    pools: [
      {
        name: 'default',
        strategy: 'round-robin',
        backends: [
          { id: 'http://127.0.0.1:9001', name: 'b1', state: 'healthy', inFlight: 0, weight: 1 },
          { id: 'http://127.0.0.1:9002', name: 'b2', state: 'draining', inFlight: 1, weight: 1 },
        ],
      },
    ],
    totals: { requests: 10, inFlight: 1, rps: 2 },
    ageMs: 500,
    state: 'up',
    ...overrides,
  };
}

test('without cluster.redis there is no strip', async (t) => {
  const ui = await renderDashboard(snapshot([{ backends: backends(2) }]), { columns: 140 });
  t.false(ui.frame().includes('cluster '));
});

test('with cluster.redis: instance, redis connected, and each peer with its state and backends, under the header', async (t) => {
  const s = { ...snapshot([{ backends: backends(2) }]), cluster: CLUSTER, peers: [peer('web-2:8080'), peer('web-3:8080', { state: 'silent', ageMs: 9_400 })] };
  const ui = await renderDashboard(s, { columns: 160, rows: 30 });
  const line = ui.lines().find((l) => l.startsWith('cluster ')) ?? '';
  t.is(line.trimEnd(), 'cluster web-1:8080 · redis connected · peers: web-2:8080 up (default 1/2 healthy, b2 draining) · web-3:8080 silent 9s (default 1/2 healthy, b2 draining)');
  const rows = ui.lines();
  t.true(rows.indexOf(line) < rows.findIndex((l) => /backend\s+state/.test(l)), 'above the backend table');
  t.is(rows.length, 30, 'the screen still fits 30 rows');
  t.regex(rows.at(-1) ?? '', /q quit/, 'with the key bar still on the last line');
});

test('Redis lost: the strip says the instance serves on local state; no peers: says so', async (t) => {
  const ui = await renderDashboard({ ...snapshot([{ backends: backends(1) }]), cluster: { ...CLUSTER, connected: false }, peers: [] }, { columns: 140 });
  t.regex(ui.frame(), /cluster web-1:8080 · redis unreachable: serving on local state · no peers/);
});
