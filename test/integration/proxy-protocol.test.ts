import test from 'ava';
import net from 'node:net';
import tls from 'node:tls';
import { PROXY_V2_SIGNATURE } from '../../src/engine/proxy-protocol.js';
import { startBackends, startVelo } from './harness.js';
import { exchange } from './raw-peers.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';
const ECHO = 'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const CERT = new URL('../../fixtures/tls/cert.pem', import.meta.url).pathname;
const KEY = new URL('../../fixtures/tls/key.pem', import.meta.url).pathname;

function v2Tcp4(src: [number, number, number, number], port: number): Buffer {
  const body = Buffer.from([...src, 10, 0, 0, 1, port >> 8, port & 0xff, 0, 80]);
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, body.length]), body]);
}

function v2Tcp6(src: string): Buffer {
  const addr = Buffer.alloc(16);
  // 2001:db8::<last> only, enough for the test.
  addr.writeUInt16BE(0x2001, 0);
  addr.writeUInt16BE(0x0db8, 2);
  addr.writeUInt16BE(Number.parseInt(src.split('::')[1]!, 16), 14);
  const body = Buffer.concat([addr, Buffer.alloc(16), Buffer.from([0x15, 0xb3, 0, 80])]);
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x21, 0, body.length]), body]);
}

function echoedHeaders(reply: string): Record<string, string> {
  assertOk(reply);
  return (JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }).headers;
}

function assertOk(reply: string): void {
  if (!reply.startsWith('HTTP/1.1 200')) throw new Error(`expected a 200, got ${JSON.stringify(reply.slice(0, 200))}`);
}

test('PROXY v1 and v2 (TCP4, TCP6) from a trusted peer: the backend sees the client address in X-Forwarded-For and X-Real-IP', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { proxy_protocol: { trusted: [127.0.0.1] } }\n${NO_HEALTH}`, [b!.url]);
  const port = velo.engine.address.port;
  const v1 = echoedHeaders(await exchange(port, `PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\n${ECHO}`));
  t.is(v1['x-forwarded-for'], '203.0.113.9');
  t.is(v1['x-real-ip'], '203.0.113.9');
  const v2 = echoedHeaders(await exchange(port, Buffer.concat([v2Tcp4([198, 51, 100, 4], 4000), Buffer.from(ECHO)])));
  t.is(v2['x-forwarded-for'], '198.51.100.4');
  t.is(v2['x-real-ip'], '198.51.100.4');
  const v6 = echoedHeaders(await exchange(port, Buffer.concat([v2Tcp6('2001:db8::7'), Buffer.from(ECHO)])));
  t.is(v6['x-forwarded-for'], '2001:db8::7');
  // The header and the request in separate packets.
  const split = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('PROXY TCP4 203.0.113.77 10.0.0.1 5555 80\r');
      setTimeout(() => s.write(`\n${ECHO}`), 30);
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
  });
  t.is(echoedHeaders(split)['x-forwarded-for'], '203.0.113.77');
});

test('PROXY addresses drive ip_filter; a trusted peer without a header and an untrusted peer with one are disconnected', async (t) => {
  const [b] = await startBackends(t, 1);
  const trusted = await startVelo(t, `listen: { proxy_protocol: { trusted: [127.0.0.0/8] } }\nip_filter: { deny: [203.0.113.0/24] }\n${NO_HEALTH}`, [b!.url]);
  const port = trusted.engine.address.port;
  t.regex(await exchange(port, `PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\n${ECHO}`), /^HTTP\/1\.1 403 /);
  t.regex(await exchange(port, `PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n${ECHO}`), /^HTTP\/1\.1 200 /);
  t.is(await exchange(port, ECHO), '', 'a trusted peer must send a PROXY header');
  t.is(await exchange(port, 'PROXY TCP4 999.0.0.1 10.0.0.1 1 2\r\nGET'), '', 'a broken header closes the connection');
  const untrusted = await startVelo(t, `listen: { proxy_protocol: { trusted: [10.0.0.0/8] } }\n${NO_HEALTH}`, [b!.url]);
  t.is(await exchange(untrusted.engine.address.port, `PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\n${ECHO}`), '', 'an untrusted peer may not claim an address');
  t.is(await exchange(untrusted.engine.address.port, Buffer.concat([v2Tcp4([1, 2, 3, 4], 1), Buffer.from(ECHO)])), '');
  const direct = echoedHeaders(await exchange(untrusted.engine.address.port, ECHO));
  t.is(direct['x-forwarded-for'], '127.0.0.1', 'an untrusted peer without a header is served as itself');
});

test('PROXY header before a TLS handshake: the address reaches the backend of an https listener', async (t) => {
  const [b] = await startBackends(t, 1);
  const velo = await startVelo(t, `listen: { tls: { cert: ${CERT}, key: ${KEY} }, proxy_protocol: { trusted: [127.0.0.1] } }\n${NO_HEALTH}`, [b!.url]);
  const reply = await new Promise<string>((resolve, reject) => {
    const raw = net.connect(velo.engine.address.port, '127.0.0.1', () => {
      raw.write('PROXY TCP4 203.0.113.5 10.0.0.1 5555 443\r\n');
      const s = tls.connect({ socket: raw, rejectUnauthorized: false }, () => s.write(ECHO));
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString('latin1')));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
  });
  const headers = echoedHeaders(reply);
  t.is(headers['x-forwarded-for'], '203.0.113.5');
  t.is(headers['x-forwarded-proto'], 'https');
});
