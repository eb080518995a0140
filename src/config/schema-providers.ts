/**
 * `providers:` in the config file: discovery sources whose backends velo follows by itself.
 * Today `docker` (docs/discovery.md); each provider is a mapping, `docker: true` takes every
 * default. Problems are reported with their dotted path like any other key.
 */
import { isIP } from 'node:net';
import { isMap, isScalar } from 'yaml';
import type { DockerAddressMode, DockerProviderConfig, ProvidersConfig } from './types.js';
import type { MapReader } from './schema-node.js';

export const DOCKER_ADDRESS_MODES: readonly DockerAddressMode[] = ['auto', 'host', 'container-ip', 'published'];

/** The Docker endpoint velo uses when none is written: `$DOCKER_HOST`, else the local socket. */
export function defaultDockerEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '' ? env.DOCKER_HOST : 'unix:///var/run/docker.sock';
}

const ENDPOINT = /^(?:unix:\/\/\/[^\s?#]+|(?:tcp|http):\/\/[^\s/?#]+\/?)$/;
const LABEL_PREFIX = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;

/** `providers: { docker: {...} }`, or undefined when absent (or `docker: false`). */
export function readProviders(top: MapReader): ProvidersConfig | undefined {
  if (!top.has('providers')) return undefined;
  const providers = top.map('providers', ['docker']);
  const docker = readDocker(providers);
  return docker !== undefined ? { docker } : {};
}

function readDocker(providers: MapReader): DockerProviderConfig | undefined {
  const node = providers.get('docker');
  if (node === undefined) return undefined;
  if (isScalar(node) && node.value === false) return undefined;
  const keys = ['endpoint', 'label_prefix', 'address', 'network', 'host'];
  const r = isMap(node) ? providers.map('docker', keys) : undefined;
  if (r === undefined && !(isScalar(node) && node.value === true)) {
    providers.c.report(providers.at('docker'), node, 'providers.docker must be a mapping (or true for the defaults)', 'expected docker: { endpoint: unix:///var/run/docker.sock, label_prefix: velo }');
  }
  const written = r?.optionalString('endpoint', 'expected unix:///var/run/docker.sock or tcp://host:2375');
  if (r !== undefined && written !== undefined && !ENDPOINT.test(written)) {
    r.c.report(r.at('endpoint'), r.get('endpoint'), `"${written}" is not a Docker endpoint`, 'expected unix:///path/to/docker.sock, tcp://host:port or http://host:port (TLS endpoints are not supported)');
  }
  const endpoint = written ?? defaultDockerEndpoint();
  const labelPrefix = r?.string('label_prefix', 'velo', 'expected a label namespace such as velo') ?? 'velo';
  if (r !== undefined && !LABEL_PREFIX.test(labelPrefix)) {
    r.c.report(r.at('label_prefix'), r.get('label_prefix'), `"${labelPrefix}" is not a label prefix`, 'expected lower-case letters, digits, dots and dashes, e.g. velo or com.example.lb');
  }
  const address = r?.oneOf('address', 'auto', DOCKER_ADDRESS_MODES) ?? 'auto';
  const network = r?.optionalString('network', 'expected a Docker network name such as web');
  const host = r?.string('host', '127.0.0.1', 'expected the address of the Docker host as velo sees it, e.g. 127.0.0.1') ?? '127.0.0.1';
  if (r !== undefined && isIP(host) === 0 && !HOST_NAME.test(host)) {
    r.c.report(r.at('host'), r.get('host'), `"${host}" is not an address`, 'expected an IP address or a host name, e.g. 127.0.0.1');
  }
  return { endpoint, labelPrefix, address, host, ...(network !== undefined ? { network } : {}) };
}
