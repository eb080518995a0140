/**
 * Starts Docker discovery for `launch()` (src/cli/start.ts), which imports this file only when
 * `providers.docker` is configured: a velo without it loads none of the provider's code.
 */
import type { Registry } from 'prom-client';
import type { DockerProviderConfig } from '../config/types.js';
import type { Control } from '../engine/control.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import { DockerProvider } from './docker-provider.js';
import { trackProviderUp } from './provider-status.js';

/** A running provider; `close()` stops following Docker (the backends it added stay). */
export interface RunningProvider {
  provider: DockerProvider;
  close: () => Promise<void>;
}

/** Starts following Docker in the control plane; never waits for Docker and never rejects. */
export function startDockerProvider(engine: Engine, control: Control, config: DockerProviderConfig, logger: Logger, registry?: Registry): RunningProvider {
  const provider = new DockerProvider(engine, control, config, logger);
  const untrack = registry !== undefined ? trackProviderUp(registry, 'docker', () => provider.up === true) : undefined;
  provider.start();
  return {
    provider,
    close: async () => {
      untrack?.();
      await provider.close();
    },
  };
}
