/**
 * `velo health [--admin URL] [--json]`: every pool and backend of a running velo with its
 * state, and with `cluster.redis` its Redis link and peers; exits 1 when a pool has no healthy
 * backend (a lost Redis is not a failure: the instance serves on local state).
 */
import type { Command } from 'commander';
import { AdminClient, adminOption, CliError, runCli, throwOnUsageError } from './admin-client.js';
import { ExitCode } from './exit-codes.js';
import { colour, colourEnabled, formatTable } from './format-table.js';

interface HealthBackend {
  name: string;
  url: string;
  state: string;
  circuit: string;
  weight: number;
  inFlight: number;
  lastCheck: { at: string; ok: boolean; durationMs: number; detail?: string } | null;
}

interface HealthReply {
  status: string;
  version: string;
  uptimeMs: number;
  /** Runtime changes not in the config file (absent from older velos). */
  runtimeChanges?: number;
  pools: Array<{ name: string; strategy: string; healthy: number; planned?: number; total: number; backends: HealthBackend[] }>;
  /** With `cluster.redis` only: this instance's Redis link. */
  cluster?: { instance: string; connected: boolean; redis: string; rateLimitFallbacks?: number; pendingChanges?: number } | null;
  /** With `cluster.redis` only: the other instances. */
  peers?: HealthPeer[];
}

/** Another instance, as `/api/health` reports its last heartbeat. */
interface HealthPeer {
  instance: string;
  version: string;
  listen: string;
  admin: string | null;
  uptimeMs: number;
  ageMs: number;
  state: string;
  pools: Array<{ name: string; backends: Array<{ name: string; state: string; inFlight: number }> }>;
  totals: { requests: number; inFlight: number; rps: number };
}

const STATE_COLOUR = { healthy: 'green', unhealthy: 'red', down: 'red', draining: 'yellow', maint: 'yellow', unknown: 'dim' } as const;
/** States an operator chose: out of rotation, but not a failure. */
const PLANNED = new Set(['draining', 'maint']);

/** Backends out of rotation on purpose; older velos do not send `planned`, so count them here. */
function plannedCount(p: HealthReply['pools'][number]): number {
  return p.planned ?? p.backends.filter((b) => PLANNED.has(b.state)).length;
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

function lastCheck(b: HealthBackend, now: number): string {
  if (b.lastCheck === null) return '-';
  const c = b.lastCheck;
  const verdict = c.ok ? 'ok' : `failed${c.detail ? ` (${c.detail})` : ''}`;
  return `${verdict} ${Math.round(c.durationMs * 10) / 10}ms, ${ago(c.at, now)}`;
}

/** The human-readable report: one block per pool, one row per backend. */
export function formatHealth(h: HealthReply, useColour: boolean, now = Date.now()): string {
  const lines = [`velo ${h.version}, up ${Math.round(h.uptimeMs / 1000)}s: ${h.status}`];
  const changes = h.runtimeChanges ?? 0;
  if (changes > 0) lines.push(`${changes} runtime change${changes === 1 ? '' : 's'} not in the config file (velo config diff, velo config save)`);
  for (const p of h.pools) {
    const planned = plannedCount(p);
    const states = [...new Set(p.backends.filter((b) => PLANNED.has(b.state)).map((b) => b.state))].join(', ');
    const summary = `${p.healthy}/${p.total} healthy${planned > 0 && p.healthy > 0 ? `, ${planned} ${states || 'out'} on purpose` : ''}`;
    const failing = p.healthy + planned < p.total;
    lines.push('', `pool ${p.name} (${p.strategy}): ${colour(summary, p.healthy === 0 ? 'red' : failing ? 'yellow' : 'green', useColour)}`);
    if (p.backends.length === 0) {
      lines.push('  (no backends)');
      continue;
    }
    const rows = [['BACKEND', 'URL', 'STATE', 'CIRCUIT', 'WEIGHT', 'IN-FLIGHT', 'LAST CHECK']];
    for (const b of p.backends) {
      const tint = STATE_COLOUR[b.state as keyof typeof STATE_COLOUR] ?? 'dim';
      rows.push([b.name, b.url, colour(b.state, tint, useColour), b.circuit, String(b.weight), String(b.inFlight), lastCheck(b, now)]);
    }
    lines.push(...formatTable(rows, '  '));
  }
  if (h.cluster) lines.push('', ...formatPeers(h.cluster, h.peers ?? [], useColour));
  return lines.join('\n') + '\n';
}

/**
 * The cluster block: this instance's name and Redis link, then one row per peer with its state,
 * addresses, version, uptime, heartbeat age, in-flight requests and, per pool, how many of its
 * backends are healthy and which are not (`web 2/3 healthy (b2 draining)`).
 */
export function formatPeers(cluster: NonNullable<HealthReply['cluster']>, peers: HealthPeer[], useColour: boolean): string[] {
  const link = cluster.connected ? colour('connected', 'green', useColour) : colour('NOT connected, serving on local state', 'red', useColour);
  const pending = (cluster.pendingChanges ?? 0) > 0 ? `, ${cluster.pendingChanges} change(s) waiting for Redis` : '';
  const lines = [`cluster: instance ${cluster.instance}, redis ${cluster.redis}: ${link}${pending}`];
  if (peers.length === 0) {
    lines.push('  (no peers: no other instance shares this Redis and prefix)');
    return lines;
  }
  lines.push(`peers (${peers.length}):`);
  const rows = [['INSTANCE', 'STATE', 'LISTEN', 'ADMIN', 'VERSION', 'UP', 'LAST BEAT', 'IN-FLIGHT', 'BACKENDS']];
  for (const p of peers) {
    const pools = p.pools.map((pool) => {
      const healthy = pool.backends.filter((b) => b.state === 'healthy').length;
      const others = pool.backends.filter((b) => b.state !== 'healthy').map((b) => `${b.name} ${b.state}`);
      return `${pool.name} ${healthy}/${pool.backends.length} healthy${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
    });
    const state = colour(p.state, p.state === 'up' ? 'green' : 'yellow', useColour);
    rows.push([p.instance, state, p.listen, p.admin ?? '-', p.version, `${Math.round(p.uptimeMs / 1000)}s`, `${(p.ageMs / 1000).toFixed(1)}s ago`, String(p.totals.inFlight), pools.join('; ')]);
  }
  lines.push(...formatTable(rows, '  '));
  return lines;
}

/** Adds `velo health`. */
export function registerHealthCommand(program: Command): void {
  throwOnUsageError(adminOption(program.command('health')))
    .description('show pools and backends of a running velo with their state (exit 1 when a pool has no healthy backend)')
    .option('--json', 'print the admin API answer as JSON')
    .addHelpText(
      'after',
      `
Examples:
  velo health
  velo health --json | jq '.pools[].healthy'
  VELO_ADMIN=http://10.0.0.5:8407 VELO_ADMIN_TOKEN=secret velo health`,
    )
    .action((flags: { admin?: string; json?: boolean }) =>
      runCli(async () => {
        const client = AdminClient.fromOptions(flags);
        try {
          const health = await client.call<HealthReply>('GET', '/api/health');
          if (!Array.isArray(health.pools)) throw new CliError(`${(await client.target()).source} did not answer like a velo admin API (no pools in /api/health)`, ExitCode.Unreachable);
          process.stdout.write(flags.json ? JSON.stringify(health, null, 2) + '\n' : formatHealth(health, colourEnabled()));
          const empty = health.pools.filter((p) => p.healthy === 0);
          for (const p of empty) process.stderr.write(`velo: pool ${p.name} has no healthy backend\n`);
          return empty.length > 0 ? ExitCode.Failure : ExitCode.Ok;
        } finally {
          await client.close();
        }
      }),
    );
}
