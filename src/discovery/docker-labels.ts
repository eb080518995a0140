/**
 * What one container's labels ask for: which pool, which address, which weight. Pure (no I/O),
 * so every label rule is tested as a table (test/discovery/docker-labels.test.ts). Labels,
 * with the default prefix `velo`:
 * - `velo.enable=true`: the only required one; anything else (or absent) leaves the container out.
 * - `velo.pool`: the pool to join (default the first pool).
 * - `velo.port`: the port to send to (default the container's single exposed port).
 * - `velo.weight`: 1-1000 (default 1).
 * - `velo.address`: `host`, `container-ip` or `published` (default the provider's `address`).
 * - `velo.network`: for `container-ip`, the network whose IP to use (default the provider's, else the first).
 */
import { isIP } from 'node:net';
import type { DockerAddressMode, DockerProviderConfig } from '../config/types.js';
import type { DockerContainer } from './docker-api.js';

/** A container that asked to join a pool, with the address velo would send to. */
export interface DockerCandidate {
  /** Container id (64 hex). */
  id: string;
  /** Container name, without Docker's leading `/`. */
  name: string;
  pool: string;
  /** `http://host:port`. */
  url: string;
  weight: number;
  /** Paused (`docker pause`): kept in maintenance. */
  paused: boolean;
}

/** Why a labelled container cannot join, in words for the event log. */
export interface DockerLabelProblem {
  id: string;
  name: string;
  problem: string;
}

const MAX_WEIGHT = 1000;
const MODES: readonly DockerAddressMode[] = ['host', 'container-ip', 'published'];

/** The container's name as `docker ps` shows it. */
export function containerName(c: Pick<DockerContainer, 'Names' | 'Id'>): string {
  return (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
}

/**
 * Reads `c`'s labels: a candidate, a problem (labelled to join but a label is wrong or no
 * address can be found), or undefined when it did not ask to join (`{prefix}.enable` not `true`).
 */
export function readContainer(c: DockerContainer, opts: Pick<DockerProviderConfig, 'labelPrefix' | 'address' | 'network' | 'host'>, defaultPool: string): DockerCandidate | DockerLabelProblem | undefined {
  const labels = c.Labels ?? {};
  const label = (key: string): string | undefined => labels[`${opts.labelPrefix}.${key}`];
  if (label('enable')?.trim().toLowerCase() !== 'true') return undefined;
  const name = containerName(c);
  const fail = (problem: string): DockerLabelProblem => ({ id: c.Id, name, problem });
  const p = opts.labelPrefix;

  const weightText = label('weight');
  const weight = weightText === undefined ? 1 : /^\d+$/.test(weightText.trim()) ? Number(weightText) : NaN;
  if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) return fail(`${p}.weight "${weightText}" is not a weight (1-${MAX_WEIGHT})`);

  let port: number | undefined;
  const portText = label('port');
  if (portText !== undefined) {
    port = /^\d+$/.test(portText.trim()) ? Number(portText) : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`${p}.port "${portText}" is not a port`);
  } else {
    const exposed = [...new Set((c.Ports ?? []).filter((x) => x.Type === 'tcp').map((x) => x.PrivatePort))];
    if (exposed.length !== 1) return fail(`${exposed.length === 0 ? 'no exposed port' : `${exposed.length} exposed ports`}: set ${p}.port`);
    port = exposed[0]!;
  }

  const modeText = label('address');
  if (modeText !== undefined && !MODES.includes(modeText as DockerAddressMode)) return fail(`${p}.address "${modeText}" is not one of ${MODES.join(', ')}`);
  let mode = (modeText as DockerAddressMode | undefined) ?? opts.address;
  if (mode === 'auto') mode = c.HostConfig?.NetworkMode === 'host' ? 'host' : 'container-ip';

  let host: string;
  if (mode === 'host') {
    host = opts.host;
  } else if (mode === 'container-ip') {
    const networks = c.NetworkSettings?.Networks ?? {};
    const wanted = label('network') ?? opts.network;
    const entry = wanted !== undefined ? networks[wanted] : Object.values(networks).find((n) => (n.IPAddress ?? '') !== '');
    const ip = entry?.IPAddress || entry?.GlobalIPv6Address;
    if (ip === undefined || ip === '') {
      const where = wanted !== undefined ? `on network "${wanted}"` : 'on any network';
      return fail(`no IP address ${where} (networks: ${Object.keys(networks).join(', ') || 'none'}); use ${p}.address=host or published`);
    }
    host = ip;
  } else {
    const published = (c.Ports ?? []).filter((x) => x.Type === 'tcp' && x.PrivatePort === port && x.PublicPort !== undefined && x.PublicPort > 0);
    const pick = published.find((x) => isIP(x.IP ?? '') !== 6) ?? published[0];
    if (pick === undefined) return fail(`port ${port} is not published (docker run -p 127.0.0.1::${port})`);
    port = pick.PublicPort!;
    host = ['', '0.0.0.0', '::', undefined].includes(pick.IP) ? opts.host : pick.IP!;
  }
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  return { id: c.Id, name, pool: label('pool') ?? defaultPool, url: `http://${hostPart}:${port}`, weight, paused: c.State === 'paused' };
}

/** True when `readContainer` found a candidate (not a problem). */
export function isCandidate(x: DockerCandidate | DockerLabelProblem): x is DockerCandidate {
  return 'url' in x;
}
