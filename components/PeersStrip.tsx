/**
 * One line under the header when velo runs as one of many (`cluster.redis`): this instance's
 * name, whether Redis is connected (red when it serves on local state), and each peer with its
 * state and its backends, e.g.
 *
 *     cluster web-1:8080 · redis connected · peers: web-2:8080 up (default 2/3 healthy, b2 draining) · web-3:8080 silent 9s
 */
import { Text } from 'ink';
import type { ClusterStatus, PeerSnapshot } from '../src/metrics/snapshot.js';
import { useTint } from './palette.js';

/** A piece of the strip and its colour (a palette name), or none. */
export interface StripPart {
  text: string;
  color?: string;
}

/** The strip's parts, in order: instance, link state, then one per peer (or "no peers"). */
export function peersStripParts(cluster: ClusterStatus, peers: readonly PeerSnapshot[]): StripPart[] {
  const parts: StripPart[] = [{ text: `cluster ${cluster.instance}` }];
  parts.push(cluster.connected ? { text: 'redis connected', color: 'green' } : { text: 'redis unreachable: serving on local state', color: 'red' });
  if (peers.length === 0) {
    parts.push({ text: 'no peers', color: 'gray' });
    return parts;
  }
  peers.forEach((p, i) => {
    const pools = p.pools.map((pool) => {
      const healthy = pool.backends.filter((b) => b.state === 'healthy').length;
      const odd = pool.backends.filter((b) => b.state !== 'healthy').map((b) => `${b.name} ${b.state}`);
      return [`${pool.name} ${healthy}/${pool.backends.length} healthy`, ...odd].join(', ');
    });
    const state = p.state === 'up' ? 'up' : `silent ${Math.round(p.ageMs / 1000)}s`;
    parts.push({ text: `${i === 0 ? 'peers: ' : ''}${p.instance} ${state}${pools.length > 0 ? ` (${pools.join('; ')})` : ''}`, color: p.state === 'up' ? undefined : 'yellow' });
  });
  return parts;
}

/** The strip; renders nothing without `cluster`. */
export function PeersStrip({ cluster, peers }: { cluster: ClusterStatus | undefined; peers: readonly PeerSnapshot[] | undefined }) {
  const tint = useTint();
  if (cluster === undefined) return null;
  const parts = peersStripParts(cluster, peers ?? []);
  return (
    <Text wrap="truncate-end">
      {parts.map((part, i) => (
        <Text key={i}>
          {i > 0 ? <Text dimColor> · </Text> : null}
          <Text color={tint(part.color)}>{part.text}</Text>
        </Text>
      ))}
    </Text>
  );
}
