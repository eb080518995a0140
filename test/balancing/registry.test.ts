import test from 'ava';
import { createStrategy, describeStrategies, resolveStrategyName, STRATEGY_NAMES } from '../../src/balancing/registry.js';
import type { StrategyName } from '../../src/config/types.js';

test('lists the eight strategies in dashboard key order', (t) => {
  t.deepEqual(STRATEGY_NAMES, [
    'round-robin',
    'weighted-round-robin',
    'least-connections',
    'random',
    'ip-hash',
    'url-hash',
    'power-of-two',
    'least-latency',
  ]);
});

const ALIASES: Array<[string, StrategyName]> = [
  ['round_robin', 'round-robin'], ['RoundRobin', 'round-robin'], ['roundRobin', 'round-robin'], ['rr', 'round-robin'], ['RR', 'round-robin'],
  ['weighted_round_robin', 'weighted-round-robin'], ['WeightedRoundRobin', 'weighted-round-robin'], ['wrr', 'weighted-round-robin'],
  ['least_connections', 'least-connections'], ['LeastConnections', 'least-connections'], ['lc', 'least-connections'],
  ['leastconn', 'least-connections'], ['least_conn', 'least-connections'], ['least-conn', 'least-connections'],
  ['RANDOM', 'random'], ['Random', 'random'],
  ['ip_hash', 'ip-hash'], ['IpHash', 'ip-hash'], ['iphash', 'ip-hash'], ['ipHash', 'ip-hash'],
  ['url_hash', 'url-hash'], ['UrlHash', 'url-hash'], ['urlhash', 'url-hash'], ['URL-HASH', 'url-hash'],
  ['power_of_two', 'power-of-two'], ['PowerOfTwo', 'power-of-two'], ['p2c', 'power-of-two'], ['P2C', 'power-of-two'],
  ['least_latency', 'least-latency'], ['LeastLatency', 'least-latency'], ['ewma', 'least-latency'], ['EWMA', 'least-latency'],
];

test('every canonical name and alias resolves case-insensitively', (t) => {
  for (const name of STRATEGY_NAMES) t.is(resolveStrategyName(name), name);
  for (const [alias, expected] of ALIASES) t.is(resolveStrategyName(alias), expected, alias);
});

test('unknown names resolve to undefined', (t) => {
  for (const input of ['', 'round', 'robin-round', 'hash', 'constructor', 'toString', '__proto__', 'least']) {
    t.is(resolveStrategyName(input), undefined, JSON.stringify(input));
  }
});

test('createStrategy returns a fresh strategy of the requested name', (t) => {
  for (const name of STRATEGY_NAMES) {
    const s = createStrategy(name);
    t.is(s.name, name);
    t.not(createStrategy(name), s);
  }
});

test('describeStrategies names every strategy and the short aliases', (t) => {
  const text = describeStrategies();
  for (const name of STRATEGY_NAMES) t.true(text.includes(name), name);
  t.is(
    text,
    'round-robin (rr), weighted-round-robin (wrr), least-connections (lc, leastconn), random, ip-hash, url-hash, power-of-two (p2c), least-latency (ewma)',
  );
});
