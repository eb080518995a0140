/**
 * Starts a DNS provider (dns-provider.ts) for every pool with `dns:` or `srv:` and keeps them in
 * step with the running config: after a reload (`Control.applyListeners`) a pool whose DNS
 * settings or named backends changed gets a new provider, which inherits the old one's last good
 * answers; a pool that lost its `dns:` loses its `dns` backends. Runs in the control plane only:
 * workers receive the resulting backends as config, like any other change.
 */
import type { PoolConfig } from '../config/types.js';
import { hasHostName } from '../config/schema-dns.js';
import type { Control } from '../engine/control.js';
import type { Engine } from '../engine/engine.js';
import { realTimers, type Timers } from '../health/active-check.js';
import { publishAnswer } from './dns-lookup.js';
import { DnsProvider, type DnsNameState } from './dns-provider.js';
import { createDnsResolver, type DnsResolver } from './dns-resolver.js';

/** One name's state for `/metrics` (`velo_dns_*`). */
export interface DnsNameStatus {
  pool: string;
  name: string;
  type: DnsNameState['type'];
  failuresTotal: number;
  /** Wall-clock ms of the last good answer; undefined while it never resolved. */
  lastSuccessAt?: number;
  /** Addresses (or SRV records) in the answer in use. */
  answers: number;
}

/** A name that did not resolve at start (and the pool does not `allow_unresolved`). */
export class UnresolvedNameError extends Error {
  constructor(readonly problems: Array<{ pool: string; name: string; error: string; servers: readonly string[] }>) {
    super(
      problems
        .map((p) => `pool "${p.pool}": ${p.name} does not resolve (${p.error}; asked ${p.servers.length > 0 ? p.servers.join(', ') : 'the system name servers'}); fix the name or DNS, or set dns.allow_unresolved: true to start without it`)
        .join('\n'),
    );
    this.name = 'UnresolvedNameError';
  }
}

export interface Discovery {
  /** Every name of every DNS pool, for metrics. */
  status(): DnsNameStatus[];
  /** True when some pool uses DNS. */
  readonly active: boolean;
  stop(): void;
}

export interface DiscoveryOptions {
  timers?: Timers;
  /** The resolver for a pool's servers (tests); default node:dns's c-ares. */
  resolverFor?: (servers: readonly string[]) => DnsResolver;
  /** Told once, when the first pool with DNS starts (metrics registration). */
  onActive?: (discovery: Discovery) => void;
}

/** What makes a pool's provider: its DNS settings and its named backends. */
function providerKey(pc: PoolConfig): string {
  return JSON.stringify([pc.dns, pc.backends.filter((b) => hasHostName(b.url)).map((b) => [b.url, b.weight, b.maintenance === true])]);
}

/**
 * Resolves every DNS pool's names once, then keeps them fresh. Rejects with an
 * `UnresolvedNameError` naming the pool, the name and the DNS error when a name never
 * resolved and its pool does not set `dns.allow_unresolved` (nothing is left running then).
 */
export async function startDiscovery(engine: Engine, control: Control, options: DiscoveryOptions = {}): Promise<Discovery> {
  const timers = options.timers ?? realTimers;
  const providers = new Map<string, { key: string; provider: DnsProvider }>();
  const names = new Map<string, Map<string, DnsNameState>>();
  let active = false;
  let stopped = false;
  const discovery: Discovery = {
    get active() {
      return active;
    },
    status() {
      const out: DnsNameStatus[] = [];
      for (const [pool, states] of names) {
        for (const s of states.values()) {
          out.push({ pool, name: s.name, type: s.type, failuresTotal: s.failuresTotal, ...(s.lastSuccessAt !== undefined ? { lastSuccessAt: s.lastSuccessAt } : {}), answers: s.addresses?.length ?? s.records?.length ?? 0 });
        }
      }
      return out;
    },
    stop() {
      stopped = true;
      for (const { provider } of providers.values()) provider.stop();
      providers.clear();
      const i = control.applyListeners.indexOf(follow);
      if (i >= 0) control.applyListeners.splice(i, 1);
    },
  };

  const create = (pc: PoolConfig): DnsProvider => {
    const dns = pc.dns!;
    let states = names.get(pc.name);
    if (states === undefined) names.set(pc.name, (states = new Map()));
    const provider = new DnsProvider(pc, {
      resolver: (options.resolverFor ?? ((servers) => createDnsResolver(servers)))(dns.servers),
      timers,
      wallClock: engine.wallClock,
      names: states,
      reconcile: (desired) => {
        // The pool may be gone by now (a reload removed it while a lookup ran).
        if (engine.pools.some((p) => p.name === pc.name)) control.reconcileSource(pc.name, 'dns', desired);
      },
      event: (level, message) => {
        engine.events.add({ kind: 'discovery', level, message, pool: pc.name });
        engine.logger[level](message, { pool: pc.name });
      },
      publish: (hostname, addresses, ttlMs) => publishAnswer(pc.name, dns, hostname, addresses, ttlMs),
    });
    if (!active) {
      active = true;
      options.onActive?.(discovery);
    }
    return provider;
  };

  // After every reload (and every reconcile, which is cheap to compare): follow the pools.
  function follow(): void {
    if (stopped) return;
    const pools = new Map(engine.pools.map((p) => [p.name, p.config]));
    for (const [name, entry] of [...providers]) {
      const pc = pools.get(name);
      if (pc?.dns !== undefined && providerKey(pc) === entry.key) continue;
      entry.provider.stop();
      providers.delete(name);
      if (pc?.dns === undefined) {
        names.delete(name);
        if (pc !== undefined) control.reconcileSource(name, 'dns', []);
      }
    }
    for (const [name, pc] of pools) {
      if (pc.dns === undefined || providers.has(name)) continue;
      const provider = create(pc);
      providers.set(name, { key: providerKey(pc), provider });
      // A reload cannot be refused any more: a name that does not resolve is an event, and retried.
      void provider.start();
    }
  }

  const started = engine.pools.filter((p) => p.config.dns !== undefined).map((p) => ({ pc: p.config, provider: create(p.config) }));
  for (const { pc, provider } of started) providers.set(pc.name, { key: providerKey(pc), provider });
  const unresolved = await Promise.all(started.map(async ({ pc, provider }) => ({ pc, names: await provider.start() })));
  const problems = unresolved.flatMap(({ pc, names: n }) => (pc.dns!.allowUnresolved ? [] : n.map((s) => ({ pool: pc.name, name: s.name, error: s.lastError ?? 'no answer', servers: pc.dns!.servers }))));
  if (problems.length > 0) {
    discovery.stop();
    throw new UnresolvedNameError(problems);
  }
  control.applyListeners.push(follow);
  return discovery;
}
