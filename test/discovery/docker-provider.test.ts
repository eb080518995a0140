/**
 * Docker discovery against a real dockerd (issue 12 part 2): labelled busybox containers on the
 * host's network join velo's pool after a passing check, and velo's table follows start, stop,
 * pause, unpause and relabelling within 2 s; a lost Docker keeps the set and resyncs on return.
 * Each test has its own label prefix, so tests (and other containers) never see each other's.
 */
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { parseConfigText } from '../../src/config/load.js';
import { launch, type Running } from '../../src/cli/start.js';
import { Logger } from '../../src/log/logger.js';
import { docker, dockerReady, portBlock, removeAtEnd, TEST_IMAGE, within } from './docker-env.js';

const ready = await dockerReady();
const nextPort = portBlock();
const FOLLOW_MS = 2000;
const FAST_CHECK = '{ path: /health, interval: 200ms, timeout: 500ms, rise: 1, fall: 1 }';

interface Velo {
  running: Running;
  url: string;
  admin: string;
  prefix: string;
  logs: string[];
  /** `name:weight[:maint]` of the pool's docker backends, in pool order. */
  table: () => string[];
}

async function startVelo(t: ExecutionContext, extra: { endpoint?: string; health?: string; workers?: number; pools?: () => string } = {}): Promise<Velo> {
  const prefix = `velotest${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const endpoint = extra.endpoint ?? 'unix:///var/run/docker.sock';
  // With pools: each pool says its own health_check (the short form's keys cannot stand beside pools:).
  const health = extra.pools !== undefined ? '' : `health_check: ${extra.health ?? FAST_CHECK}\n`;
  const yaml = `${health}log_level: debug
providers: { docker: { endpoint: "${endpoint}", label_prefix: ${prefix} } }
`;
  const read = () => parseConfigText(yaml + (extra.pools?.() ?? ''), undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  const config = read();
  const logs: string[] = [];
  const logger = new Logger('debug', (line) => logs.push(line));
  const running = await launch(config, async () => read(), logger, { watchFile: false, accessLog: false, workers: extra.workers ?? 1 });
  t.teardown(() => running.shutdown().then(() => undefined));
  const table = (): string[] =>
    running.engine.pools[0]!.upstreams.filter((u) => u.source === 'docker').map((u) => `${u.name}:${u.weight}${u.maintenance ? ':maint' : ''}`);
  return { running, url: `http://127.0.0.1:${running.engine.address.port}`, admin: `http://127.0.0.1:${running.engine.adminAddress!.port}`, prefix, logs, table };
}

/** A busybox httpd on 127.0.0.1:port (host networking) answering its own name; `/health` unless `healthy: false`. */
async function runBackend(t: ExecutionContext, velo: Velo, name: string, port: number, labels: Record<string, string> = {}, opts: { healthy?: boolean } = {}): Promise<void> {
  removeAtEnd(t, name);
  const all = { enable: 'true', port: String(port), ...labels };
  const health = opts.healthy === false ? '' : 'echo ok > /tmp/www/health && ';
  await docker(
    'run', '-d', '--name', name, '--network', 'host',
    ...Object.entries(all).flatMap(([k, v]) => ['--label', `${velo.prefix}.${k}=${v}`]),
    TEST_IMAGE, 'sh', '-c', `mkdir -p /tmp/www && echo ${name} > /tmp/www/index.html && ${health}exec httpd -f -p 127.0.0.1:${port} -h /tmp/www`,
  );
}

async function body(url: string): Promise<string> {
  const res = await request(url);
  return (await res.body.text()).trim();
}

if (!ready.ok) {
  test.skip(`Docker discovery tests skipped: dockerd cannot start here (${ready.reason})`, () => {});
} else {
  test.serial('containers join after a passing check; stop, pause, unpause and relabel are followed within 2 s', async (t) => {
    const velo = await startVelo(t);
    const [a, b] = [`${velo.prefix}-a`, `${velo.prefix}-b`];
    const [pa, pb] = [nextPort(), nextPort()];

    await runBackend(t, velo, a, pa);
    await runBackend(t, velo, b, pb, { weight: '3' });
    // `docker run -d` returns once the container started: from here the 2 s count.
    let began = Date.now();
    await within(FOLLOW_MS, `${a} and ${b} in the table`, () => velo.table().length === 2);
    t.log(`started: in the table after ${Date.now() - began} ms`);
    t.deepEqual(velo.table().sort(), [`${a}:1`, `${b}:3`]);
    const u = velo.running.engine.pools[0]!.find(a)!;
    t.is(u.url.origin, `http://127.0.0.1:${pa}`);
    t.is(u.source, 'docker');
    // Traffic reaches both containers.
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await body(velo.url));
    t.deepEqual([...seen].sort(), [a, b]);

    began = Date.now();
    await docker('pause', a);
    await within(FOLLOW_MS, `${a} in maintenance`, () => velo.table().includes(`${a}:1:maint`));
    t.log(`paused: maint after ${Date.now() - began} ms`);
    for (let i = 0; i < 4; i++) t.is(await body(velo.url), b, 'a paused container gets no request');

    began = Date.now();
    await docker('unpause', a);
    await within(FOLLOW_MS, `${a} out of maintenance`, () => velo.table().includes(`${a}:1`));
    t.log(`unpaused: back after ${Date.now() - began} ms`);

    // httpd is the container's PID 1 and ignores SIGTERM, so `docker stop` waits its 2 s grace and
    // kills: velo drains the container from the first signal on, while `docker stop` still runs.
    began = Date.now();
    const stopping = docker('stop', '-t', '2', b);
    await within(FOLLOW_MS, `${b} gone`, () => !velo.table().some((x) => x.startsWith(`${b}:`)));
    t.log(`stopped: gone after ${Date.now() - began} ms`);
    await stopping;
    t.true(velo.running.engine.events.recent().some((e) => e.message.includes(`${b} gone from docker: draining, then removed`)));

    // Relabel: a container is recreated under the same name with other labels.
    began = Date.now();
    await docker('rm', '-f', a);
    await runBackend(t, velo, a, pa, { enable: 'false' });
    await within(FOLLOW_MS, `${a} gone after velo.enable=false`, () => velo.table().length === 0);
    await docker('rm', '-f', a);
    await runBackend(t, velo, a, pa, { weight: '7' });
    await within(FOLLOW_MS, `${a} back with weight 7`, () => velo.table().includes(`${a}:7`));
    t.log(`relabelled twice in ${Date.now() - began} ms`);

    // The API marks it as Docker's and refuses to remove it by hand.
    const pools = (await (await request(`${velo.admin}/api/pools/default`)).body.json()) as { backends: Array<{ name: string; source: string }> };
    t.is(pools.backends.find((x) => x.name === a)?.source, 'docker');
    const del = await request(`${velo.admin}/api/pools/default/backends/${encodeURIComponent(a)}`, { method: 'DELETE' });
    t.is(del.statusCode, 409);
    t.regex(await del.body.text(), /comes from docker discovery and would come back/);
  });

  test.serial('a container joins only after its first passing health check', async (t) => {
    const velo = await startVelo(t);
    const name = `${velo.prefix}-late`;
    await runBackend(t, velo, name, nextPort(), {}, { healthy: false });
    // The provider probed it and saw a 404: still not in the pool, so no request can reach it.
    await within(5000, 'a failed probe of the container', () => velo.logs.some((l) => l.includes('container not ready yet') && l.includes(name)));
    t.deepEqual(velo.table(), []);
    const began = Date.now();
    await docker('exec', name, 'sh', '-c', 'echo ok > /tmp/www/health');
    await within(FOLLOW_MS, `${name} in the table once /health answers`, () => velo.table().length === 1);
    t.log(`joined ${Date.now() - began} ms after its health check passed`);
    t.is(await body(velo.url), name);
  });

  test.serial('Docker lost: the set is kept, velo_provider_up is 0; on return velo resyncs', async (t) => {
    // velo talks to Docker through this relay, which the test cuts and restores.
    let cut = false;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      if (cut) return client.destroy();
      const daemon = net.connect('/var/run/docker.sock');
      for (const s of [client, daemon]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(daemon).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      relay.close();
    });
    const velo = await startVelo(t, { endpoint: `tcp://127.0.0.1:${(relay.address() as net.AddressInfo).port}` });
    const metric = async (): Promise<string | undefined> => /velo_provider_up\{provider="docker"\} (\d)/.exec(await (await request(`${velo.admin}/metrics`)).body.text())?.[1];
    const [a, b] = [`${velo.prefix}-a`, `${velo.prefix}-b`];
    await runBackend(t, velo, a, nextPort());
    await runBackend(t, velo, b, nextPort());
    await within(FOLLOW_MS, 'both in the table', () => velo.table().length === 2);
    t.is(await metric(), '1');

    cut = true;
    for (const s of sockets) s.destroy();
    await within(FOLLOW_MS, 'the loss said once', () => velo.running.engine.events.recent().some((e) => /Docker unreachable .*keeping 2 backends, retrying/.test(e.message)));
    t.is(await metric(), '0');
    // While Docker is away, a container stops: velo cannot know, and keeps serving what it has.
    await docker('stop', '-t', '1', b);
    t.deepEqual(velo.table().sort(), [`${a}:1`, `${b}:1`]);
    t.is(velo.running.engine.events.recent().filter((e) => e.message.startsWith('Docker unreachable')).length, 1, 'said once, not per retry');

    const began = Date.now();
    cut = false;
    // Backoff is at most 10 s; within that plus the resync, the stopped one is gone.
    await within(12_000, 'resynced after Docker came back', () => velo.running.engine.events.recent().some((e) => e.message.startsWith('Docker back: resynced')));
    await within(FOLLOW_MS, `${b} gone after the resync`, () => velo.table().length === 1);
    t.log(`back and resynced after ${Date.now() - began} ms`);
    t.deepEqual(velo.table(), [`${a}:1`]);
    t.is(await metric(), '1');
  });

  test.serial('with --workers 2 the control plane follows Docker and the workers forward to the containers', async (t) => {
    const velo = await startVelo(t, { workers: 2 });
    const name = `${velo.prefix}-w`;
    await runBackend(t, velo, name, nextPort());
    await within(FOLLOW_MS, `${name} in the table`, () => velo.table().length === 1);
    // The workers get it with their config (acked before Control.settled resolves).
    await velo.running.control.settled();
    const bodies = await Promise.all(Array.from({ length: 12 }, () => body(velo.url)));
    t.deepEqual([...new Set(bodies)], [name]);
    const stopping = docker('stop', '-t', '2', name);
    await within(FOLLOW_MS, `${name} gone`, () => velo.table().length === 0);
    await stopping;
  });

  const bridged = ready.detail.includes('bridge network');
  (bridged ? test.serial : test.skip)(`address modes: a container's IP on its network, and a port published on 127.0.0.1${bridged ? '' : ' (skipped: dockerd runs without a bridge here)'}`, async (t) => {
    const velo = await startVelo(t);
    const [ip, pub] = [`${velo.prefix}-ip`, `${velo.prefix}-pub`];
    removeAtEnd(t, ip, pub);
    const serve = (name: string): string[] => ['sh', '-c', `mkdir -p /tmp/www && echo ok > /tmp/www/health && echo ${name} > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www`];
    // Default bridge, no port label: the single exposed port is found (EXPOSE as --expose), the address is its IP (auto).
    await docker('run', '-d', '--name', ip, '--expose', '80', '--label', `${velo.prefix}.enable=true`, TEST_IMAGE, ...serve(ip));
    await docker('run', '-d', '--name', pub, '-p', '127.0.0.1::80', '--label', `${velo.prefix}.enable=true`, '--label', `${velo.prefix}.address=published`, '--label', `${velo.prefix}.port=80`, TEST_IMAGE, ...serve(pub));
    await within(FOLLOW_MS, 'both in the table', () => velo.table().length === 2);
    const pool = velo.running.engine.pools[0]!;
    const containerIp = await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', ip);
    const published = (await docker('port', pub, '80/tcp')).split('\n')[0]!;
    t.is(pool.find(ip)?.url.origin, new URL(`http://${containerIp}:80`).origin);
    t.is(pool.find(pub)?.url.origin, `http://${published}`);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await body(velo.url));
    t.deepEqual([...seen].sort(), [ip, pub].sort());
  });

  test.serial('a container naming a pool the config lacks waits, said once, and joins when a reload adds the pool', async (t) => {
    let pools = `pools:\n  - { name: web, health_check: ${FAST_CHECK} }\n`;
    const velo = await startVelo(t, { pools: () => pools });
    const name = `${velo.prefix}-api`;
    await runBackend(t, velo, name, nextPort(), { pool: 'api' });
    await within(FOLLOW_MS, 'the problem said', () => velo.running.engine.events.recent().some((e) => e.message.includes(`container ${name} cannot join: no pool named "api"`)));
    pools = `${pools}  - { name: api, match: { path_prefix: /api }, health_check: ${FAST_CHECK} }\n`;
    await velo.running.control.reload('api');
    const began = Date.now();
    await within(FOLLOW_MS, `${name} in pool api`, () => velo.running.engine.pools.find((p) => p.name === 'api')?.find(name)?.source === 'docker');
    t.log(`joined pool api ${Date.now() - began} ms after the reload`);
    await docker('exec', name, 'sh', '-c', 'mkdir -p /tmp/www/api && cp /tmp/www/index.html /tmp/www/api/');
    t.is(await body(`${velo.url}/api/`), name, 'velo routes /api to the container');
  });
}
