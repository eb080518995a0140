/**
 * `velo_provider_up{provider}`: 1 while a discovery provider (docker, dns) is connected to its
 * source, 0 while it serves the last set it saw. One gauge per metrics registry, shared by every
 * provider registered on it; each provider reports through its own `isUp`.
 */
import { Gauge, type Registry } from 'prom-client';

const providersByRegistry = new WeakMap<Registry, Map<string, () => boolean>>();

/** Adds `provider` to the registry's `velo_provider_up` gauge; the returned function takes it out. */
export function trackProviderUp(registry: Registry, provider: string, isUp: () => boolean): () => void {
  let providers = providersByRegistry.get(registry);
  if (providers === undefined) {
    const map = new Map<string, () => boolean>();
    providers = map;
    providersByRegistry.set(registry, map);
    new Gauge({
      name: 'velo_provider_up',
      help: 'Discovery providers (providers.docker, dns): 1 while connected to their source, 0 while serving the last set seen.',
      labelNames: ['provider'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, up] of map) this.set({ provider: name }, up() ? 1 : 0);
      },
    });
  }
  providers.set(provider, isUp);
  return () => {
    providersByRegistry.get(registry)?.delete(provider);
  };
}
