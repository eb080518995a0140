/** What a container's labels ask for (pool, address, port, weight), as a table of containers. */
import test from 'ava';
import type { DockerContainer } from '../../src/discovery/docker-api.js';
import { readContainer } from '../../src/discovery/docker-labels.js';

const OPTS = { labelPrefix: 'velo', address: 'auto', host: '127.0.0.1' } as const;

function container(labels: Record<string, string>, more: Partial<DockerContainer> = {}): DockerContainer {
  return {
    Id: 'c0ffee',
    Names: ['/web-1'],
    Labels: labels,
    State: 'running',
    Ports: [],
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.5' }, web: { IPAddress: '10.1.0.7' } } },
    ...more,
  };
}

const HOST = { HostConfig: { NetworkMode: 'host' }, NetworkSettings: { Networks: { host: { IPAddress: '' } } } };

const cases: Array<[string, DockerContainer, string | RegExp | undefined, Partial<typeof OPTS & { network: string }>?]> = [
  ['no enable label: left out', container({ 'velo.port': '80' }), undefined],
  ['enable=false: left out', container({ 'velo.enable': 'false', 'velo.port': '80' }), undefined],
  ['host networking: host address, velo.port', container({ 'velo.enable': 'true', 'velo.port': '8081' }, HOST), 'default http://127.0.0.1:8081 w1'],
  ['bridge: the first network\'s IP, the single exposed port', container({ 'velo.enable': 'True' }, { Ports: [{ PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 80, Type: 'tcp' }] }), 'default http://172.17.0.5:80 w1'],
  ['velo.network picks the network', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.network': 'web' }), 'default http://10.1.0.7:80 w1'],
  ['the provider\'s network when no label', container({ 'velo.enable': 'true', 'velo.port': '80' }), 'default http://10.1.0.7:80 w1', { network: 'web' }],
  ['a network it is not on', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.network': 'db' }), /no IP address on network "db"/],
  ['pool and weight', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.pool': 'api', 'velo.weight': '5' }), 'api http://172.17.0.5:80 w5'],
  ['weight 0 is refused', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.weight': '0' }), /velo.weight "0" is not a weight/],
  ['a port that is no port', container({ 'velo.enable': 'true', 'velo.port': '80a' }), /velo.port "80a" is not a port/],
  ['two exposed ports and no velo.port', container({ 'velo.enable': 'true' }, { Ports: [{ PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }] }), /2 exposed ports: set velo.port/],
  ['published on 0.0.0.0: the provider host and the public port', container({ 'velo.enable': 'true', 'velo.address': 'published' }, { Ports: [{ PrivatePort: 80, PublicPort: 32768, IP: '0.0.0.0', Type: 'tcp' }, { PrivatePort: 80, PublicPort: 32768, IP: '::', Type: 'tcp' }] }), 'default http://127.0.0.1:32768 w1'],
  ['published on 127.0.0.2: that address', container({ 'velo.enable': 'true', 'velo.port': '80' }, { Ports: [{ PrivatePort: 80, PublicPort: 9000, IP: '127.0.0.2', Type: 'tcp' }] }), 'default http://127.0.0.2:9000 w1', { address: 'published' } as never],
  ['published but the port is not', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.address': 'published' }, { Ports: [{ PrivatePort: 80, Type: 'tcp' }] }), /port 80 is not published/],
  ['an unknown address mode', container({ 'velo.enable': 'true', 'velo.port': '80', 'velo.address': 'nat' }), /velo.address "nat" is not one of host, container-ip, published/],
  ['another prefix: velo.* is ignored', container({ 'velo.enable': 'true', 'velo.port': '80' }), undefined, { labelPrefix: 'lb' } as never],
];

for (const [title, c, expected, opts] of cases) {
  test(`docker labels: ${title}`, (t) => {
    const read = readContainer(c, { ...OPTS, ...opts }, 'default');
    if (expected === undefined) return t.is(read, undefined);
    if (expected instanceof RegExp) return t.regex(read !== undefined && 'problem' in read ? read.problem : JSON.stringify(read), expected);
    t.true(read !== undefined && 'url' in read, JSON.stringify(read));
    if (read === undefined || !('url' in read)) return;
    t.is(`${read.pool} ${read.url} w${read.weight}`, expected);
    t.is(read.name, 'web-1');
  });
}

test('docker labels: a paused container is a candidate marked paused', (t) => {
  const read = readContainer(container({ 'velo.enable': 'true', 'velo.port': '80' }, { ...HOST, State: 'paused' }), OPTS, 'default');
  t.true(read !== undefined && 'paused' in read && read.paused);
});
