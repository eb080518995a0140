/**
 * The JSON shapes the admin API answers with, built from the engine snapshot so the API, the
 * dashboard and the CLI show the same numbers.
 */
import type { EngineEvent } from '../metrics/event-log.js';
import type { BackendSnapshot, EngineSnapshot, PoolSnapshot } from '../metrics/snapshot.js';
import { AdminHttpError } from './route.js';

/**
 * One backend as the API shows it. `id` (the normalized URL, the key in API paths and the
 * `backend` metric label), `name` and `url` name a backend in every object the API returns.
 */
export function backendView(b: BackendSnapshot) {
  return {
    id: b.id,
    name: b.name,
    url: b.url,
    source: b.source,
    state: b.state,
    health: b.health,
    circuit: b.circuit,
    draining: b.draining,
    maintenance: b.maintenance,
    ejected: b.ejected,
    weight: b.weight,
    effectiveWeight: b.effectiveWeight,
    inFlight: b.inFlight,
    tunnels: b.tunnels,
    maxConnections: b.maxConnections,
    requests: b.requests,
    failures: b.failures,
    status: b.status,
    rps: b.rps,
    p50Ms: b.p50Ms,
    p99Ms: b.p99Ms,
    lastCheck: lastCheckView(b),
  };
}

/**
 * One engine event with an ISO time and a fixed shape: `pool`, and for an event about a backend
 * its `backend` (id), `name` and `url`, are null when the event concerns none.
 */
export function eventView(e: EngineEvent) {
  return {
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    kind: e.kind,
    level: e.level,
    message: e.message,
    detail: e.detail ?? null,
    pool: e.pool ?? null,
    backend: e.backend ?? null,
    name: e.name ?? null,
    url: e.url ?? null,
    ...(e.history === true ? { history: true } : {}),
  };
}

/** The last health probe with an ISO time, or null before the first one. */
export function lastCheckView(b: BackendSnapshot) {
  return b.lastCheck ? { ...b.lastCheck, at: new Date(b.lastCheck.at).toISOString() } : null;
}

/** One pool with its backends; `healthy` counts the backends that may take a request now. */
export function poolView(p: PoolSnapshot) {
  return {
    name: p.name,
    strategy: p.strategy,
    match: p.match,
    healthy: p.healthyCount,
    total: p.backends.length,
    queueDepth: p.queueDepth,
    rps: p.rps,
    backends: p.backends.map(backendView),
  };
}

/** The pool named `name` in `snapshot`, or a 404. */
export function findPool(snapshot: EngineSnapshot, name: string): PoolSnapshot {
  const pool = snapshot.pools.find((p) => p.name === name);
  if (pool === undefined) throw new AdminHttpError(404, `no pool named "${name}"`, { pools: snapshot.pools.map((p) => p.name) });
  return pool;
}

/** The backend with id `id` in pool `pool` of `snapshot`, or a 404. */
export function findBackend(snapshot: EngineSnapshot, pool: string, id: string): BackendSnapshot {
  const backend = findPool(snapshot, pool).backends.find((b) => b.id === id);
  if (backend === undefined) throw new AdminHttpError(404, `no backend "${id}" in pool "${pool}"`);
  return backend;
}
