import test from 'ava';
import { IpFilter, IpMatcher, normalizeIp } from '../../src/resilience/ip-filter.js';

interface Case {
  title: string;
  allow: string[];
  deny: string[];
  allowed: string[];
  denied: string[];
}

const CASES: Case[] = [
  { title: 'no rules: everyone is allowed', allow: [], deny: [], allowed: ['10.0.0.1', '::1', '203.0.113.9'], denied: [] },
  {
    title: 'deny a CIDR',
    allow: [],
    deny: ['10.0.0.0/8'],
    allowed: ['11.0.0.1', '9.255.255.255', '192.168.1.1'],
    denied: ['10.0.0.0', '10.1.2.3', '10.255.255.255'],
  },
  {
    title: 'allow a CIDR: everyone else is denied',
    allow: ['192.168.1.0/24'],
    deny: [],
    allowed: ['192.168.1.0', '192.168.1.50', '192.168.1.255'],
    denied: ['192.168.2.1', '192.168.0.255', '10.0.0.1', '::1'],
  },
  {
    title: 'deny beats allow',
    allow: ['10.0.0.0/8'],
    deny: ['10.0.0.5'],
    allowed: ['10.0.0.4', '10.0.0.6', '10.9.9.9'],
    denied: ['10.0.0.5', '11.0.0.1'],
  },
  { title: 'single addresses', allow: ['127.0.0.1', '::1'], deny: [], allowed: ['127.0.0.1', '::1'], denied: ['127.0.0.2', '::2'] },
  {
    title: 'IPv6 CIDR',
    allow: [],
    deny: ['fd00::/8'],
    allowed: ['fe80::1', '2001:db8::1', '10.0.0.1'],
    denied: ['fd00::1', 'fd12:3456::1', 'fdff:ffff::ffff'],
  },
  { title: 'a /32 is one address', allow: [], deny: ['198.51.100.7/32'], allowed: ['198.51.100.6', '198.51.100.8'], denied: ['198.51.100.7'] },
];

for (const c of CASES) {
  test(`IpFilter: ${c.title}`, (t) => {
    const filter = new IpFilter({ allow: c.allow, deny: c.deny });
    t.deepEqual(c.allowed.filter((ip) => !filter.allows(ip)), [], 'should be allowed');
    t.deepEqual(c.denied.filter((ip) => filter.allows(ip)), [], 'should be denied');
  });
}

test('IpFilter is active only when it has rules', (t) => {
  t.false(new IpFilter({ allow: [], deny: [] }).active);
  t.true(new IpFilter({ allow: ['10.0.0.1'], deny: [] }).active);
  t.true(new IpFilter({ allow: [], deny: ['10.0.0.1'] }).active);
});

const NORMALIZE: Array<[string | undefined, string]> = [
  ['::ffff:10.0.0.1', '10.0.0.1'],
  ['::ffff:192.168.1.50', '192.168.1.50'],
  ['10.0.0.1', '10.0.0.1'],
  ['::1', '::1'],
  ['fd00::1', 'fd00::1'],
  // Not an IPv4 address after the prefix: left alone.
  ['::ffff:abcd', '::ffff:abcd'],
  [undefined, ''],
];

for (const [input, expected] of NORMALIZE) {
  test(`normalizeIp(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, (t) => {
    t.is(normalizeIp(input), expected);
  });
}

test('IPv4 rules apply to an IPv4-mapped IPv6 peer once normalised', (t) => {
  const deny = new IpFilter({ allow: [], deny: ['10.0.0.0/8'] });
  t.false(deny.allows(normalizeIp('::ffff:10.1.2.3')));
  t.true(deny.allows(normalizeIp('::ffff:11.1.2.3')));
  const allow = new IpFilter({ allow: ['192.168.1.0/24'], deny: [] });
  t.true(allow.allows(normalizeIp('::ffff:192.168.1.9')));
  t.false(allow.allows(normalizeIp('::ffff:192.168.2.9')));
});

test('an unknown peer address ("") is denied by an allow list and allowed by a deny list', (t) => {
  t.false(new IpFilter({ allow: ['10.0.0.0/8'], deny: [] }).allows(normalizeIp(undefined)));
  t.true(new IpFilter({ allow: [], deny: ['10.0.0.0/8'] }).allows(normalizeIp(undefined)));
});

test('IpMatcher: empty matches nothing, entries match their CIDRs', (t) => {
  const empty = new IpMatcher([]);
  t.true(empty.empty);
  t.false(empty.matches('10.0.0.1'));
  const m = new IpMatcher(['10.0.0.0/8', '::1']);
  t.false(m.empty);
  t.deepEqual(['10.2.3.4', '::1', '11.0.0.1', '::2', ''].map((ip) => m.matches(ip)), [true, true, false, false, false]);
});
