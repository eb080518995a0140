/**
 * File descriptors held by connections velo gives up on. velo runs in this process and the
 * misbehaving clients in a child process, so /proc/self/fd counts velo's sockets only. Serial:
 * every test here counts this process's descriptors.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Agent } from 'undici';
import { eventually, get, startBackends, startVelo } from './harness.js';
import { exchange } from './raw-peers.js';

const CERT = new URL('../../fixtures/tls/cert.pem', import.meta.url).pathname;
const KEY = new URL('../../fixtures/tls/key.pem', import.meta.url).pathname;
const NO_HEALTH = 'health_check: { enabled: false }\n';
const CLIENTS = 200;

function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Opens `count` connections from a child process; each writes `payload` (may be empty) and then
 * neither reads nor closes (half-open capable, so velo's FIN does not end it). Resolves once all
 * are connected; the child is killed at teardown.
 */
async function holdConnections(t: ExecutionContext, port: number, count: number, payloads: Buffer[]): Promise<void> {
  const script = `
    const net = require('node:net');
    const [port, count, ...hexes] = process.argv.slice(1);
    let connected = 0;
    for (let i = 0; i < Number(count); i++) {
      const hex = hexes[i % hexes.length];
      const s = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true }, () => {
        if (hex !== '-') s.write(Buffer.from(hex, 'hex'));
        s.pause();
        if (++connected === Number(count)) process.stdout.write('ready\\n');
      });
      s.on('error', () => {});
    }
    setInterval(() => {}, 1000);`;
  const hexes = payloads.map((p) => (p.length === 0 ? '-' : p.toString('hex')));
  const child = spawn(process.execPath, ['-e', script, String(port), String(count), ...hexes], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
  });
}

test.serial('TLS connections that never finish a handshake are closed after client_timeouts.tls_handshake; HTTPS is served meanwhile', async (t) => {
  const [b] = await startBackends(t, 1);
  const yaml = `listen: { tls: { cert: ${CERT}, key: ${KEY} } }\nclient_timeouts: { tls_handshake: 3s }\n${NO_HEALTH}`;
  const velo = await startVelo(t, yaml, [b!.url]);
  const url = `https://127.0.0.1:${velo.engine.address.port}`;
  const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 });
  t.teardown(() => agent.close());
  t.is((await get(agent, url)).status, 200);
  const baseline = fds();
  const port = velo.engine.address.port;
  // Half send nothing at all; half stall in the middle of a ClientHello (record header, no body).
  await holdConnections(t, port, CLIENTS, [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]);
  await eventually(() => fds() >= baseline + CLIENTS, 2500, 'velo to accept every connection');
  const peak = fds() - baseline;
  const fresh = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    t.is((await get(fresh, url)).status, 200, 'a real client is served while the silent ones wait');
  } finally {
    await fresh.close();
  }
  await eventually(() => fds() <= baseline + 2, 3000 + 8000, `fds back to the baseline ${baseline} (now ${fds()})`);
  t.log(`velo fds: +${peak} with ${CLIENTS} stalled handshakes, +${fds() - baseline} after the timeout`);
  t.is((await get(agent, url)).status, 200, 'still serving');
});

test.serial('slowloris clients that never close are destroyed after client_timeouts.header, not left half-closed', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `client_timeouts: { header: 2500ms }\n${NO_HEALTH}`, [b!.url]);
  const port = velo.engine.address.port;
  const baseline = fds();
  await holdConnections(t, port, CLIENTS, [Buffer.from('GET /slow HTTP/1.1\r\nHost: x\r\nX-A: ')]);
  await eventually(() => fds() >= baseline + CLIENTS, 2000, 'velo to accept every connection');
  const peak = fds() - baseline;
  await eventually(() => fds() <= baseline + 2, 2500 + 8000, `fds back to the baseline ${baseline} (now ${fds()})`);
  t.log(`velo fds: +${peak} with ${CLIENTS} slowloris clients, +${fds() - baseline} after the header timeout`);
  // The cut still answers: a client that does read gets the 408 first.
  t.regex(await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', 5000), /^HTTP\/1\.1 408 /);
});

test.serial('h2c clients that send the preface (or part of it) and never open a stream are closed after client_timeouts.header', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { h2c: true }\nclient_timeouts: { header: 2500ms }\n${NO_HEALTH}`, [b!.url]);
  const port = velo.engine.address.port;
  const baseline = fds();
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  // Half stop inside the preface (velo's gate holds them), half complete it with SETTINGS (an
  // HTTP/2 session that never opens a stream).
  await holdConnections(t, port, CLIENTS, [preface.subarray(0, 10), Buffer.concat([preface, emptySettings])]);
  await eventually(() => fds() >= baseline + CLIENTS, 2000, 'velo to accept every connection');
  const peak = fds() - baseline;
  await eventually(() => fds() <= baseline + 2, 2500 + 8000, `fds back to the baseline ${baseline} (now ${fds()})`);
  t.log(`velo fds: +${peak} with ${CLIENTS} silent h2c clients, +${fds() - baseline} after the header timeout`);
  const agent = new Agent();
  t.teardown(() => agent.close());
  t.is((await get(agent, `http://127.0.0.1:${port}/`)).status, 200, 'still serving HTTP/1.1');
});
