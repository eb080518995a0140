/** `providers.docker` in the config file: defaults, every setting, and errors with their path. */
import test from 'ava';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const BASE = 'backends: [http://127.0.0.1:8081]\n';

test('providers.docker: true takes every default; absent means no provider', (t) => {
  t.is(parseConfigText(BASE, undefined).providers, undefined);
  const docker = parseConfigText(`${BASE}providers: { docker: true }\n`, undefined).providers?.docker;
  t.deepEqual(docker, { endpoint: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', labelPrefix: 'velo', address: 'auto', host: '127.0.0.1' });
});

test('providers.docker: every setting is read', (t) => {
  const text = `${BASE}providers:\n  docker: { endpoint: tcp://10.0.0.5:2375, label_prefix: com.example.lb, address: container-ip, network: web, host: 10.0.0.5 }\n`;
  t.deepEqual(parseConfigText(text, undefined).providers?.docker, {
    endpoint: 'tcp://10.0.0.5:2375',
    labelPrefix: 'com.example.lb',
    address: 'container-ip',
    network: 'web',
    host: '10.0.0.5',
  });
});

test('providers.docker: with Docker filling the pool, an empty backend list is not a warning', (t) => {
  const config = parseConfigText('providers: { docker: { endpoint: unix:///var/run/docker.sock } }\n', undefined);
  t.deepEqual(config.warnings ?? [], []);
  t.deepEqual(config.pools[0]!.backends, []);
});

for (const [yaml, path, pattern] of [
  ['providers: { docker: { endpoint: https://docker:2376 } }', 'providers.docker.endpoint', /is not a Docker endpoint/],
  ['providers: { docker: { address: bridge } }', 'providers.docker.address', /expected one of: auto, host, container-ip, published/],
  ['providers: { docker: { label_prefix: "Velo Labels" } }', 'providers.docker.label_prefix', /is not a label prefix/],
  ['providers: { docker: { labels: velo } }', 'providers.docker.labels', /unknown key "labels"/],
  ['providers: { consul: {} }', 'providers.consul', /unknown key "consul"/],
  ['providers: { docker: 5 }', 'providers.docker', /must be a mapping/],
] as const) {
  test(`providers: ${yaml} fails at ${path}`, (t) => {
    const err = t.throws(() => parseConfigText(`${BASE}${yaml}\n`, undefined), { instanceOf: ConfigError });
    const issue = err?.issues.find((i) => i.path === path);
    t.truthy(issue, `issues: ${JSON.stringify(err?.issues)}`);
    t.regex(`${issue?.message} ${issue?.hint}`, pattern);
    t.is(issue?.line, BASE.split('\n').length);
  });
}
