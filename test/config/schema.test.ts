import test from 'ava';
import { STRATEGY_NAMES } from '../../src/balancing/registry.js';
import { POOL_DEFAULTS, DEFAULTS } from '../../src/config/defaults.js';
import { parseConfigText } from '../../src/config/load.js';
import { normalizeBackendUrl, validateConfigText } from '../../src/config/schema.js';
import type { PoolConfig, VeloConfig } from '../../src/config/types.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';

function issuesOf(text: string, file = 'velo.config.yaml'): ConfigIssue[] {
  return validateConfigText(text, file).issues;
}

function configError(text: string, file = 'velo.config.yaml'): ConfigError {
  const err = (() => {
    try {
      parseConfigText(text, file);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError for:\n${text}`);
  return err;
}

/** [yaml, path, line, column, hint pattern] — each text has exactly one mistake. */
const BAD_VALUES: Array<[string, string, number, number, RegExp]> = [
  ['listen:\n  port: 70000', 'listen.port', 2, 9, /0 to 65535/],
  ['listen:\n  port: -1', 'listen.port', 2, 9, /0 to 65535/],
  ['listen:\n  host: "not a host!"', 'listen.host', 2, 9, /IP address/],
  ['listen: 8080', 'listen', 1, 9, /host, port, tls/],
  ['listen:\n  tls:\n    cert: a.pem', 'listen.tls.key', 3, 5, /cert: .*key: /],
  ['listen:\n  tls: { cert: a.pem, key: b.pem, min_version: TLSv1.4 }', 'listen.tls.min_version', 2, 48, /TLSv1\.2, TLSv1\.3/],
  ['listen:\n  tls:\n    cert: a\n    key: b\n    certificates: [{ hosts: ["a.*.com"], cert: c, key: k }]', 'listen.tls.certificates[0].hosts[0]', 5, 30, /\*\.example\.com/],
  ['listen:\n  tls:\n    cert: a\n    key: b\n    certificates: [{ hosts: [a.com], cert: c }]', 'listen.tls.certificates[0].key', 5, 20, /hosts: .*cert: .*key: /],
  ['listen:\n  proxy_protocol: { trusted: [10.0.0.0/33] }', 'listen.proxy_protocol.trusted[0]', 2, 31, /CIDR/],
  ['listen:\n  proxy_protocol: {}', 'listen.proxy_protocol.trusted', 2, 19, /trusted: \[/],
  ['client_timeouts:\n  tls_handshake: 5x', 'client_timeouts.tls_handshake', 2, 18, /250ms, 5s/],
  ['tls:\n  verify: maybe', 'tls.verify', 2, 11, /true or false/],
  ['tls:\n  cert: c.pem', 'tls.key', 2, 9, /both cert: and key:/],
  ['admin:\n  port: abc', 'admin.port', 2, 9, /0 to 65535/],
  ['admin: { port: 9090, token: 123 }', 'admin.token', 1, 29, /secret/],
  ['health_check:\n  interval: 5x', 'health_check.interval', 2, 13, /250ms, 5s, 1m/],
  ['health_check:\n  timeout: -1s', 'health_check.timeout', 2, 12, /duration/],
  ['health_check:\n  type: udp', 'health_check.type', 2, 9, /http, tcp/],
  ['health_check: { expect_status: [200, 99] }', 'health_check.expect_status[1]', 1, 38, /"2xx"/],
  ['health_check:\n  jitter: 2', 'health_check.jitter', 2, 11, /from 0 to 1/],
  ['health_check:\n  path: health', 'health_check.path', 2, 9, /\/health/],
  ['circuit_breaker:\n  failure_threshold: 0', 'circuit_breaker.failure_threshold', 2, 22, /from 1 to/],
  ['circuit_breaker:\n  count_5xx: yes', 'circuit_breaker.count_5xx', 2, 14, /true or false/],
  ['retry:\n  attempts: 1.5', 'retry.attempts', 2, 13, /whole number from 0 to 10/],
  ['retry:\n  on_status:\n    - 502\n    - 600', 'retry.on_status[1]', 4, 7, /100 to 599/],
  ['retry:\n  max_body: 12XB', 'retry.max_body', 2, 13, /64KiB/],
  ['retry:\n  backoff_base: 1s\n  backoff_cap: 100ms', 'retry.backoff_cap', 3, 16, /backoff_cap >= backoff_base/],
  ['timeouts:\n  connect: 0', 'timeouts.connect', 2, 12, /at least 1ms/],
  ['timeouts:\n  conect: 1s', 'timeouts.conect', 2, 3, /did you mean "connect"/],
  ['queue:\n  size: -3', 'queue.size', 2, 9, />= 0/],
  ['sticky:\n  cookie: "bad cookie"', 'sticky.cookie', 2, 11, /RFC 6265/],
  ['sticky: maybe', 'sticky', 1, 9, /true, false or a mapping/],
  ['sticky:\n  ttl: 0s', 'sticky.ttl', 2, 8, /at least 1ms/],
  ['rate_limit:\n  rps: 0', 'rate_limit.rps', 2, 8, /> 0/],
  ['outlier_detection:\n  max_ejection_percent: 101', 'outlier_detection.max_ejection_percent', 2, 25, /0 to 100/],
  ['panic_threshold: 150', 'panic_threshold', 1, 18, /0 to 100/],
  ['slow_start: soon', 'slow_start', 1, 13, /duration/],
  ['backends: http://a', 'backends', 1, 11, /list of backend URLs/],
  ['backends:\n  - localhost:8081', 'backends[0]', 2, 5, /e\.g\. http:\/\/localhost:8081/],
  ['backends:\n  - url: http://a\n    weight: 1001', 'backends[0].weight', 3, 13, /1 to 1000/],
  ['backends:\n  - { url: http://a, weight: 2.5 }', 'backends[0].weight', 2, 30, /whole number from 1 to 1000/],
  ['backends: [ "https://" ]', 'backends[0]', 1, 13, /https:\/\/host:port/],
  ['backends:\n  - ftp://files.example.com', 'backends[0]', 2, 5, /http:\/\/host:port/],
  ['backends:\n  - { weight: 2 }', 'backends[0]', 2, 5, /url: /],
  ['backends:\n  - http://a\n  - http://A:80/', 'backends[1]', 3, 5, /raise its weight/],
  ['match:\n  host: "bad host!"', 'match.host', 2, 9, /host name/],
  ['match:\n  path_prefix: api', 'match.path_prefix', 2, 16, /\/api/],
  ['ip_filter:\n  allow: [10.0.0.1, 10.0.0.0/33]', 'ip_filter.allow[1]', 2, 21, /10\.0\.0\.0\/8/],
  ['trust_proxy:\n  - example.com', 'trust_proxy[0]', 2, 5, /CIDR/],
  ['log_level: verbose', 'log_level', 1, 12, /debug, info, warn, error, silent/],
  ['shutdown_timeout: ten', 'shutdown_timeout', 1, 19, /duration/],
  ['access_log: 42', 'access_log', 1, 13, /stdout, a file path/],
  ['client_timeouts:\n  header: 0', 'client_timeouts.header', 2, 11, /at least 1ms/],
  ['strategy: fastest', 'strategy', 1, 11, /round-robin/],
  ['strategy: rr\npools:\n  - name: a', 'strategy', 1, 1, /remove pools:/],
  ['pools:\n  - name: a\n  - name: b', 'pools[1].match', 3, 5, /only the first pool/],
  ['pools:\n  - name: a\n  - name: a\n    match: { host: x }', 'pools[1].name', 3, 11, /unique/],
  ['pools:\n  - name: a\n  - match: { host: x }', 'pools[1].name', 3, 5, /unique name/],
  ['pools:\n  - name: a\n    match: { host: x }\n  - name: b\n    match: { host: X:80 }', 'pools[1].match', 5, 12, /different host/],
  ['pools: []', 'pools', 1, 8, /add at least one pool/],
  ['healthcheck: {}', 'healthcheck', 1, 1, /did you mean "health_check"/],
  ['sticky:\n  secret: short', 'sticky.secret', 2, 11, /at least 32 characters/],
  ['sticky:\n  secret: [a]', 'sticky.secret', 2, 11, /at least 32 characters/],
];

test('sticky.secret is read into the pool config; absent, the pool has no secret', (t) => {
  const secret = 'x'.repeat(32);
  t.is(parseConfigText(`backends: [http://a]\nsticky: { secret: ${secret} }`).pools[0]!.sticky.secret, secret);
  t.false('secret' in parseConfigText('backends: [http://a]\nsticky: true').pools[0]!.sticky);
});

for (const [text, path, line, column, hint] of BAD_VALUES) {
  test(`reports ${path} at ${line}:${column} for ${JSON.stringify(text)}`, (t) => {
    const issues = issuesOf(text);
    t.is(issues.length, 1, JSON.stringify(issues));
    const [issue] = issues;
    t.like(issue, { path, line, column });
    t.regex(issue!.hint ?? '', hint);
  });
}

test('a file with five different mistakes reports all five at once, in file order', (t) => {
  const text = [
    'listen:',
    '  port: 99999', // 2: out of range
    'strategy: fastest', // 3: unknown strategy
    'backends:',
    '  - http://127.0.0.1:8081',
    '  - 127.0.0.1:8082', // 6: no scheme
    'health_check:',
    '  interval: 5x', // 8: bad duration
    'helth_check: {}', // 9: unknown key
  ].join('\n');
  const err = configError(text);
  t.deepEqual(
    err.issues.map((i) => [i.path, i.line, i.column]),
    [
      ['listen.port', 2, 9],
      ['strategy', 3, 11],
      ['backends[1]', 6, 5],
      ['health_check.interval', 8, 13],
      ['helth_check', 9, 1],
    ],
  );
  t.regex(err.message, /^5 problems in velo\.config\.yaml:/);
  t.regex(err.message, /velo\.config\.yaml:8:13 health_check\.interval: "5x" is not a duration/);
});

test('an unknown key suggests the nearest valid name, ignoring case and separators', (t) => {
  const [a, b, c] = issuesOf('stratgy: rr\nbackends: [http://a]\nhealthCheck: {}\ncircuit_breaker: { failure_treshold: 3 }');
  t.like(a, { path: 'stratgy', message: 'unknown key "stratgy"', hint: 'did you mean "strategy"?' });
  t.like(b, { path: 'healthCheck', hint: 'did you mean "health_check"?' });
  t.like(c, { path: 'circuit_breaker.failure_treshold', hint: 'did you mean "failure_threshold"?' });
});

test('an unknown key with no near name lists the valid keys', (t) => {
  const [issue] = issuesOf('timeouts: { zzzzzzzz: 1s }');
  t.is(issue?.hint, 'valid keys here: connect, response, idle, tunnel');
});

test('an unknown strategy lists every valid name', (t) => {
  const [issue] = issuesOf('strategy: fastest');
  t.is(issue?.message, 'unknown strategy "fastest"');
  for (const name of STRATEGY_NAMES) t.true(issue!.hint!.includes(name), name);
});

const ALIASES: Array<[string, string]> = [
  ['RoundRobin', 'round-robin'],
  ['rr', 'round-robin'],
  ['least_connections', 'least-connections'],
  ['WRR', 'weighted-round-robin'],
  ['p2c', 'power-of-two'],
];

for (const [alias, canonical] of ALIASES) {
  test(`strategy alias ${alias} normalises to ${canonical}`, (t) => {
    const config = parseConfigText(`strategy: ${alias}\nbackends: [http://a]`);
    t.is(config.pools[0]!.strategy as string, canonical);
  });
}

test('duplicate backends are found by normalized URL', (t) => {
  const [issue, ...rest] = issuesOf('backends:\n  - http://a:80/\n  - { url: "http://A", weight: 3 }');
  t.is(rest.length, 0);
  t.like(issue, { path: 'backends[1].url', line: 3, column: 12 });
  t.regex(issue!.message, /duplicate backend http:\/\/a/);
});

const URLS: Array<[string, string]> = [
  ['http://A:80/', 'http://a'],
  ['HTTPS://Example.COM:443', 'https://example.com'],
  ['http://127.0.0.1:8081/', 'http://127.0.0.1:8081'],
  ['http://[::1]:8081', 'http://[::1]:8081'],
  [' http://a ', 'http://a'],
  ['http://a:8080/app/', 'http://a:8080/app'],
  ['http://A/App/v2', 'http://a/App/v2'],
  ['http://a/x/../app', 'http://a/app'],
];

for (const [input, normalized] of URLS) {
  test(`normalizeBackendUrl(${JSON.stringify(input)}) is ${normalized}`, (t) => {
    t.is(normalizeBackendUrl(input), normalized);
  });
}

test('normalizeBackendUrl rejects what a backend cannot be', (t) => {
  for (const bad of ['', 'a:80', 'ftp://a', 'http://', 'http://u:p@a', 'http://a/?q=1', 'http://a:8080/api#x', 'http://a//app', 'http://a/app//v2']) {
    t.throws(() => normalizeBackendUrl(bad), { message: /backend URL|http:\/\/ or https:\/\/|not a valid|uses ftp|no host|credentials|query or fragment|empty path segment/ }, bad);
  }
});

function pool(overrides: Partial<PoolConfig>): PoolConfig {
  return { ...structuredClone(POOL_DEFAULTS), name: 'default', match: {}, backends: [], ...overrides } as PoolConfig;
}

function config(overrides: Partial<VeloConfig>): VeloConfig {
  return { ...structuredClone(DEFAULTS), pools: [], ...overrides } as VeloConfig;
}

test('the short form becomes one pool named default with every default filled in', (t) => {
  const text = [
    'listen: { host: 0.0.0.0, port: 8080 }',
    'strategy: RoundRobin',
    'backends: [ http://127.0.0.1:8081, { url: http://127.0.0.1:8082, weight: 2, name: two } ]',
    'health_check: { path: /healthz, interval: 1.5s }',
    'sticky: true',
    'rate_limit: { rps: 5 }',
  ].join('\n');
  const d = POOL_DEFAULTS;
  t.deepEqual(
    parseConfigText(text),
    config({
      pools: [
        pool({
          backends: [
            { url: 'http://127.0.0.1:8081', weight: 1 },
            { url: 'http://127.0.0.1:8082', weight: 2, name: 'two' },
          ],
          healthCheck: { ...structuredClone(d.healthCheck), path: '/healthz', intervalMs: 1_500 } as PoolConfig['healthCheck'],
          sticky: { ...d.sticky, enabled: true },
          rateLimit: { enabled: true, rps: 5, burst: 200, routes: [] },
        }),
      ],
    }),
  );
});

test('the full form keeps every pool, normalises match.host and reads every section', (t) => {
  const text = `
listen: { port: 0, tls: { cert: /etc/velo/cert.pem, key: /etc/velo/key.pem } }
admin: { host: 0.0.0.0, port: 0, token: s3cret }
access_log: { path: /var/log/velo.log }
ip_filter: { allow: [10.0.0.0/8, "::1"], deny: 10.1.2.3 }
trust_proxy: [127.0.0.1]
shutdown_timeout: 1m30s
log_level: debug
client_timeouts: { header: 5s, request: 2m }
pools:
  - name: web
    backends: [http://w1]
  - name: api
    match: { host: API.Example.com:8443, path_prefix: /v1 }
    strategy: least_connections
    backends: [https://a1:443/, http://a2]
    health_check: { type: tcp, rise: 1, fall: 1, expect_status: ["200-399", 418], jitter: 0 }
    circuit_breaker: false
    retry: { attempts: 0, retry_non_idempotent: true, on_status: [502, 503], backoff_base: 10ms, backoff_cap: 1s, max_body: 1MiB, budget_percent: 50, budget_min: 1, per_try_timeout: 2s }
    timeouts: { connect: 1s, response: 10s, idle: 5s }
    max_connections: 100
    queue: { size: 50, timeout: 1s }
    sticky: { cookie: api_session, ttl: 10m }
    outlier_detection: { consecutive_failures: 3, count_5xx: true, base_ejection_time: 10s, max_ejection_time: 1m, max_ejection_percent: 30 }
    panic_threshold: 50
    slow_start: 30s
`;
  const c = parseConfigText(text);
  t.deepEqual(c.listen, { host: '0.0.0.0', port: 0, tls: { cert: '/etc/velo/cert.pem', key: '/etc/velo/key.pem', minVersion: 'TLSv1.2', certificates: [] } });
  t.deepEqual(c.admin, { enabled: true, host: '0.0.0.0', port: 0, token: 's3cret' });
  t.deepEqual(c.accessLog, { enabled: true, target: '/var/log/velo.log' });
  t.deepEqual(c.ipFilter, { allow: ['10.0.0.0/8', '::1'], deny: ['10.1.2.3'] });
  t.deepEqual(c.trustProxy, ['127.0.0.1']);
  t.is(c.shutdownTimeoutMs, 90_000);
  t.is(c.logLevel, 'debug');
  t.is(c.clientHeaderTimeoutMs, 5_000);
  t.is(c.clientRequestTimeoutMs, 120_000);
  t.deepEqual(c.pools[0], pool({ name: 'web', backends: [{ url: 'http://w1', weight: 1 }] }));
  t.deepEqual(
    c.pools[1],
    pool({
      name: 'api',
      match: { host: 'api.example.com', pathPrefix: '/v1' },
      strategy: 'least-connections',
      backends: [
        { url: 'https://a1', weight: 1 },
        { url: 'http://a2', weight: 1 },
      ],
      healthCheck: { enabled: true, type: 'tcp', path: '/health', intervalMs: 5_000, timeoutMs: 2_000, rise: 1, fall: 1, expectStatus: [[200, 399], [418, 418]], jitter: 0 },
      circuitBreaker: { ...POOL_DEFAULTS.circuitBreaker, enabled: false },
      retry: { attempts: 0, retryNonIdempotent: true, onStatus: [502, 503], backoffBaseMs: 10, backoffCapMs: 1_000, maxBodyBytes: 1_048_576, budgetPercent: 50, budgetMinRetries: 1, perTryTimeoutMs: 2_000 },
      timeouts: { connectMs: 1_000, responseMs: 10_000, idleMs: 5_000, tunnelIdleMs: 3_600_000 },
      maxConnections: 100,
      queue: { size: 50, timeoutMs: 1_000 },
      sticky: { enabled: true, cookie: 'api_session', ttlMs: 600_000 },
      outlier: { enabled: true, consecutiveFailures: 3, count5xx: true, baseEjectionMs: 10_000, maxEjectionMs: 60_000, maxEjectionPercent: 30 },
      panicThreshold: 50,
      slowStartMs: 30_000,
    }),
  );
});

test('relative TLS and access-log paths are anchored to the config file directory', (t) => {
  const c = parseConfigText('listen: { tls: { cert: c.pem, key: k.pem } }\naccess_log: logs/a.log\nbackends: [http://a]', '/etc/velo/velo.config.yaml');
  t.deepEqual(c.listen.tls, { cert: '/etc/velo/c.pem', key: '/etc/velo/k.pem', minVersion: 'TLSv1.2', certificates: [] });
  t.is(c.accessLog.target, '/etc/velo/logs/a.log');
});

test('access_log accepts false, stdout and a mapping', (t) => {
  t.deepEqual(parseConfigText('access_log: false\nbackends: [http://a]').accessLog, { enabled: false, target: 'stdout' });
  t.deepEqual(parseConfigText('access_log: stdout\nbackends: [http://a]').accessLog, { enabled: true, target: 'stdout' });
  t.deepEqual(parseConfigText('access_log: { enabled: false }\nbackends: [http://a]').accessLog, { enabled: false, target: 'stdout' });
});

test('a JSON file with a bad value reports its line and column', (t) => {
  const json = '{\n  "listen": {\n    "port": "abc"\n  },\n  "backends": ["http://127.0.0.1:8081"]\n}\n';
  const err = configError(json, 'velo.config.json');
  t.deepEqual(err.issues.map((i) => [i.path, i.line, i.column]), [['listen.port', 3, 13]]);
  t.regex(err.message, /velo\.config\.json:3:13 listen\.port/);
});

test('a JSON file with a syntax error reports its line', (t) => {
  const err = configError('{\n  "listen": {\n    "port": 8080\n  \n', 'velo.config.json');
  t.true(err.issues.length >= 1);
  t.true(err.issues.every((i) => i.path === '(syntax)' && i.line !== undefined && i.line >= 3), JSON.stringify(err.issues));
  t.regex(err.message, /velo\.config\.json:\d+:\d+ \(syntax\)/);
});

test('a YAML syntax error is reported alone, with its position', (t) => {
  const err = configError('backends:\n  - http://a\n listen: [\n');
  t.is(err.issues.length, err.issues.filter((i) => i.path === '(syntax)').length);
  t.true(err.issues.every((i) => i.line !== undefined));
});

test('YAML anchors and aliases are followed', (t) => {
  const c = parseConfigText('pools:\n  - name: a\n    backends: &b [http://x]\n  - name: b\n    match: { path_prefix: /b }\n    backends: *b');
  t.deepEqual(c.pools.map((p) => p.backends), [[{ url: 'http://x', weight: 1 }], [{ url: 'http://x', weight: 1 }]]);
});

test('an empty file validates to the defaults without issues before backends are checked', (t) => {
  const v = validateConfigText('');
  t.deepEqual(v.issues, []);
  t.deepEqual(v.config, config({ pools: [pool({})] }));
});

test('listen.tls, listen.proxy_protocol, client_timeouts.tls_handshake and a pool tls are read with paths anchored to the file', (t) => {
  const c = parseConfigText(
    [
      'listen:',
      '  tls:',
      '    cert: c.pem',
      '    key: k.pem',
      '    min_version: TLSv1.3',
      '    ciphers: ECDHE-RSA-AES128-GCM-SHA256',
      '    certificates: [{ hosts: [A.example.com, "*.b.example.com"], cert: a.pem, key: /abs/a.key }]',
      '  proxy_protocol: { trusted: [10.0.0.0/8] }',
      'client_timeouts: { tls_handshake: 3s }',
      'backends: [https://10.0.0.5]',
      'tls: { ca: ca.pem, cert: client.pem, key: client.key, servername: api.internal, verify: false }',
    ].join('\n'),
    '/etc/velo/velo.config.yaml',
  );
  t.deepEqual(c.listen.tls, {
    cert: '/etc/velo/c.pem',
    key: '/etc/velo/k.pem',
    minVersion: 'TLSv1.3',
    ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    certificates: [{ hosts: ['a.example.com', '*.b.example.com'], cert: '/etc/velo/a.pem', key: '/abs/a.key' }],
  });
  t.deepEqual(c.listen.proxyProtocol, { trusted: ['10.0.0.0/8'] });
  t.is(c.clientTlsHandshakeTimeoutMs, 3000);
  t.deepEqual(c.pools[0]!.tls, { ca: '/etc/velo/ca.pem', cert: '/etc/velo/client.pem', key: '/etc/velo/client.key', servername: 'api.internal', verify: false });
});
