/**
 * examples/compose cannot be run here (no image registry for Prometheus and Grafana), so it is
 * checked as files: the services, their ports and mounts, mounted files that exist, velo's
 * config valid with Docker discovery, Prometheus scraping velo with velo's token, the backends'
 * labels read by the same code velo runs, and Grafana's provisioning pointing at the dashboard.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { readContainer } from '../../src/discovery/docker-labels.js';

const DIR = fileURLToPath(new URL('../../examples/compose/', import.meta.url));
const read = (file: string): string => readFileSync(join(DIR, file), 'utf8');

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  labels?: Record<string, string>;
  environment?: Record<string, string>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

test('compose: velo, three backends, traffic, Prometheus and Grafana, with their ports', (t) => {
  t.deepEqual(Object.keys(services).sort(), ['grafana', 'prometheus', 'traffic', 'velo', 'web-1', 'web-2', 'web-3']);
  t.deepEqual(services.velo!.ports, ['8080:8080']);
  t.deepEqual(services.prometheus!.ports, ['9090:9090']);
  t.deepEqual(services.grafana!.ports, ['3000:3000']);
  t.true(existsSync(join(resolve(DIR, services.velo!.build!.context), services.velo!.build!.dockerfile)), 'velo is built from the repository Dockerfile');
});

test('compose: every mounted file or folder of the example exists', (t) => {
  let checked = 0;
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const source = v.split(':')[0]!;
      if (!source.startsWith('.')) continue;
      t.true(existsSync(resolve(DIR, source)), `${name} mounts ${source}`);
      checked += 1;
    }
  }
  t.is(checked, 5, 'velo\'s config, prometheus.yml, two provisioning folders, the dashboard');
});

test('compose: velo\'s config is valid and discovers the backends through Docker; the labels join the pool', (t) => {
  // As the container sees it: the token comes from the service's environment.
  const config = parseConfigText(read('velo.config.yaml'), join(DIR, 'velo.config.yaml'), { env: { VELO_ADMIN_TOKEN: services.velo!.environment!.VELO_ADMIN_TOKEN } });
  const docker = config.providers?.docker;
  t.truthy(docker);
  t.is(docker!.endpoint, 'unix:///var/run/docker.sock');
  t.true(services.velo!.volumes!.some((v) => v.startsWith('/var/run/docker.sock:/var/run/docker.sock')));
  for (const name of ['web-1', 'web-2', 'web-3']) {
    const s = services[name]!;
    const port = s.command![s.command!.indexOf('--port') + 1];
    const container = {
      Id: name,
      Names: [`/velo-example-${name}-1`],
      Labels: s.labels!,
      State: 'running',
      HostConfig: { NetworkMode: 'velo-example_default' },
      NetworkSettings: { Networks: { 'velo-example_default': { IPAddress: '172.20.0.5' } } },
    };
    const c = readContainer(container, docker!, config.pools[0]!.name);
    t.true(c !== undefined && 'url' in c, `${name}: ${JSON.stringify(c)}`);
    if (c !== undefined && 'url' in c) t.is(c.url, `http://172.20.0.5:${port}`);
    t.true(s.command!.includes('0.0.0.0'), `${name} listens beyond its loopback`);
  }
});

test('compose: Prometheus scrapes velo\'s admin API with velo\'s token; Grafana provisions it and the dashboard', (t) => {
  const prom = parse(read('prometheus.yml')) as { scrape_configs: Array<{ metrics_path: string; authorization: { credentials: string }; static_configs: Array<{ targets: string[] }> }> };
  const job = prom.scrape_configs[0]!;
  t.deepEqual(job.static_configs[0]!.targets, ['velo:8407']);
  t.is(job.metrics_path, '/metrics');
  t.is(job.authorization.credentials, services.velo!.environment!.VELO_ADMIN_TOKEN);
  const ds = parse(read('grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ type: string; url: string }> };
  t.is(ds.datasources[0]!.type, 'prometheus');
  t.is(ds.datasources[0]!.url, 'http://prometheus:9090');
  const boards = parse(read('grafana/provisioning/dashboards/velo.yml')) as { providers: Array<{ options: { path: string } }> };
  const mount = services.grafana!.volumes!.find((v) => v.includes('grafana-dashboard.json'))!;
  t.true(mount.split(':')[1]!.startsWith(`${boards.providers[0]!.options.path}/`), 'the dashboard is mounted where the provisioning looks');
  const dashboard = JSON.parse(readFileSync(resolve(DIR, mount.split(':')[0]!), 'utf8')) as { uid: string; panels: unknown[] };
  t.is(dashboard.uid, 'velo-overview');
  t.true(dashboard.panels.length > 0);
});
