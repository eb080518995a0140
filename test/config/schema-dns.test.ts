/**
 * The pool keys `dns:` and `srv:`: defaults, every bad value with its path, line and column,
 * and which backends DNS strict mode takes out of the config reconciler's hands.
 */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigText } from '../../src/config/schema.js';
import { ownedByStrictDns, parseDnsServer } from '../../src/config/schema-dns.js';

test('no dns: or srv: key means no DNS discovery; dns: {} gives the defaults; srv: alone is enough for a pool', (t) => {
  t.is(parseConfigText('backends: [http://api.internal:8080]\n').pools[0]!.dns, undefined);
  t.deepEqual(parseConfigText('backends: [http://api.internal:8080]\ndns: {}\n').pools[0]!.dns, {
    mode: 'single',
    servers: [],
    minTtlMs: 5000,
    maxTtlMs: 300_000,
    allowUnresolved: false,
    srv: [],
  });
  const config = parseConfigText('srv: _HTTP._tcp.Api.Internal.\ndns: { mode: strict, servers: [127.0.0.53:5353, 10.0.0.2, "[fd00::53]:53"], min_ttl: 1s, max_ttl: 30s, allow_unresolved: true }\n');
  t.deepEqual(config.pools[0]!.dns, { mode: 'strict', servers: ['127.0.0.53:5353', '10.0.0.2', '[fd00::53]:53'], minTtlMs: 1000, maxTtlMs: 30_000, allowUnresolved: true, srv: ['_http._tcp.api.internal'] });
  t.deepEqual(config.warnings ?? [], [], 'a pool with an SRV name is not "without backends"');
});

const BAD: Array<[string, string, number, number, RegExp]> = [
  ['backends: [http://a.internal]\ndns: { mode: strikt }\n', 'dns.mode', 2, 14, /single, strict.*did you mean "strict"/],
  ['backends: [http://a.internal]\ndns:\n  servers: [10.0.0.256]\n', 'dns.servers[0]', 3, 13, /name server address/],
  ['backends: [http://a.internal]\ndns:\n  servers: ["127.0.0.1:99999"]\n', 'dns.servers[0]', 3, 13, /127\.0\.0\.1:5353/],
  ['backends: [http://a.internal]\ndns: { min_ttl: 10s, max_ttl: 5s }\n', 'dns.max_ttl', 2, 31, /max_ttl >= min_ttl/],
  ['backends: [http://a.internal]\ndns: { min_ttl: 10ms }\n', 'dns.min_ttl', 2, 17, /at least 100ms/],
  ['backends: [http://a.internal]\ndns: { ttl: 5s }\n', 'dns.ttl', 2, 8, /min_ttl|max_ttl/],
  ['srv: api.internal\n', 'srv', 1, 6, /_http\._tcp\.api\.internal/],
  ['backends: [https://a.internal]\ndns: { mode: strict }\n', 'dns.mode', 2, 14, /tls\.servername: a\.internal/],
  ['srv: _https._tcp.a.internal\ndns: { mode: strict }\n', 'dns.mode', 2, 14, /targets of _https\._tcp\.a\.internal.*tls\.servername/],
];

for (const [text, path, line, column, hint] of BAD) {
  test(`rejects ${JSON.stringify(text)} at ${path} ${line}:${column}`, (t) => {
    const issues = validateConfigText(text, 'velo.config.yaml').issues;
    t.is(issues.length, 1, JSON.stringify(issues));
    t.like(issues[0], { path, line, column });
    t.regex(`${issues[0]!.message} ${issues[0]!.hint ?? ''}`, hint);
  });
}

test('strict mode owns the backends named by host; IP literals and single mode stay the config\'s', (t) => {
  const strict = parseConfigText('backends: [http://api.internal:8080, http://10.0.0.1, "http://[::1]:81"]\ndns: { mode: strict }\n').pools[0]!;
  t.deepEqual(strict.backends.map((b) => ownedByStrictDns(strict, b)), [true, false, false]);
  const single = parseConfigText('backends: [http://api.internal:8080]\ndns: {}\n').pools[0]!;
  t.false(ownedByStrictDns(single, single.backends[0]!));
  t.deepEqual(['10.0.0.2', '10.0.0.2:53', '[::1]:53', '::1', 'dns.internal', '::1:53', '1.2.3.4:0'].map(parseDnsServer), ['10.0.0.2', '10.0.0.2:53', '[::1]:53', '::1', undefined, '::1:53', undefined]);
});
