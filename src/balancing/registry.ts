import type { StrategyName } from '../config/types.js';
import { IpHash } from './ip-hash.js';
import { LeastConnections } from './least-connections.js';
import { LeastLatency } from './least-latency.js';
import { PowerOfTwo } from './power-of-two.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { Strategy } from './strategy.js';
import { UrlHash } from './url-hash.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

/** Every canonical strategy name, in the order the dashboard binds to keys 1-8. */
export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze([
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'random',
  'ip-hash',
  'url-hash',
  'power-of-two',
  'least-latency',
] as const);

const SHORT_ALIASES: ReadonlyArray<readonly [string, StrategyName]> = [
  ['rr', 'round-robin'],
  ['wrr', 'weighted-round-robin'],
  ['lc', 'least-connections'],
  ['leastconn', 'least-connections'],
  ['p2c', 'power-of-two'],
  ['ewma', 'least-latency'],
];

function normalise(input: string): string {
  return input.trim().toLowerCase().replace(/[-_]/g, '');
}

const BY_NORMALISED_NAME = new Map<string, StrategyName>([
  ...STRATEGY_NAMES.map((name) => [normalise(name), name] as const),
  ...SHORT_ALIASES,
]);

/** Maps a canonical name or alias (any case; kebab, snake, camel or Pascal case; rr, wrr, lc, leastconn, p2c, ewma) to its canonical name, or undefined. */
export function resolveStrategyName(input: string): StrategyName | undefined {
  return BY_NORMALISED_NAME.get(normalise(input));
}

/** Returns a new, independent instance of the named strategy. */
export function createStrategy(name: StrategyName): Strategy {
  switch (name) {
    case 'round-robin':
      return new RoundRobin();
    case 'weighted-round-robin':
      return new WeightedRoundRobin();
    case 'least-connections':
      return new LeastConnections();
    case 'random':
      return new RandomChoice();
    case 'ip-hash':
      return new IpHash();
    case 'url-hash':
      return new UrlHash();
    case 'power-of-two':
      return new PowerOfTwo();
    case 'least-latency':
      return new LeastLatency();
    default: {
      const unknown: never = name;
      throw new Error(`unknown strategy ${String(unknown)}`);
    }
  }
}

/** Lists every valid strategy name with its short aliases, for error messages and help text. */
export function describeStrategies(): string {
  return STRATEGY_NAMES.map((name) => {
    const aliases = SHORT_ALIASES.filter(([, target]) => target === name).map(([alias]) => alias);
    return aliases.length > 0 ? `${name} (${aliases.join(', ')})` : name;
  }).join(', ');
}
