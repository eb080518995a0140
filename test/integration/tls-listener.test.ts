import test from 'ava';
import net from 'node:net';
import tls from 'node:tls';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { eventually, startBackends, startVelo } from './harness.js';
import { exchange } from './raw-peers.js';
import { certDir, makeCert } from './tls-certs.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

interface TlsReply {
  serial: string;
  subject: string;
  protocol: string | null;
}

/** Opens a TLS connection (any certificate accepted) and reports what the server presented. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<TlsReply & { socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ socket, serial: cert.serialNumber, subject: String(cert.subject?.CN), protocol: socket.getProtocol() });
    });
    socket.once('error', reject);
  });
}

/** Sends one keep-alive GET on `socket` and resolves with the response head's status line. */
function requestOn(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const m = /content-length: (\d+)\r\n/i.exec(text);
      const end = text.indexOf('\r\n\r\n');
      if (m !== null && end >= 0 && text.length >= end + 4 + Number(m[1])) {
        socket.off('data', onData);
        resolve(text.split('\r\n')[0]!);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed; got ${JSON.stringify(text)}`)));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

test('plain HTTP sent to the TLS port gets a 400 that says so, in cleartext', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const c = makeCert(dir, 'srv', ['localhost', '127.0.0.1']);
  const velo = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} } }\n${NO_HEALTH}`, [b!.url]);
  const reply = await exchange(velo.engine.address.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
  t.is(reply.split('\r\n')[0], 'HTTP/1.1 400 Bad Request');
  t.regex(reply, /The plain HTTP request was sent to HTTPS port/);
  // TLS still works on the same port.
  const ok = await handshake(velo.engine.address.port);
  t.is(await requestOn(ok.socket), 'HTTP/1.1 200 OK');
  ok.socket.destroy();
});

test('a rotated certificate is served to new connections while an open keep-alive connection keeps working; a mismatched pair is refused and the old one kept', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const first = makeCert(dir, 'first', ['localhost']);
  const second = makeCert(dir, 'second', ['localhost']);
  const other = makeCert(dir, 'other', ['localhost']);
  const cert = join(dir, 'live.pem');
  const key = join(dir, 'live.key');
  copyFileSync(first.cert, cert);
  copyFileSync(first.key, key);
  const yaml = `listen: { tls: { cert: ${cert}, key: ${key} } }\n${NO_HEALTH}`;
  const velo = await startVelo(t, yaml, [b!.url]);
  velo.control.reloader = async () => parseConfigText(yaml, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0, backends: [b!.url] } });
  const port = velo.engine.address.port;
  const open = await handshake(port);
  t.teardown(() => open.socket.destroy());
  t.is(open.serial, first.serial);
  t.is(await requestOn(open.socket), 'HTTP/1.1 200 OK');

  // Rotation by a reload (`velo reload`, SIGHUP and the admin API all call Control.reload).
  copyFileSync(second.key, key);
  copyFileSync(second.cert, cert);
  await velo.control.reload('cli');
  const fresh = await handshake(port);
  fresh.socket.destroy();
  t.is(fresh.serial, second.serial, 'a new connection sees the new certificate');
  t.is(await requestOn(open.socket), 'HTTP/1.1 200 OK', 'the open connection still works');
  t.true(velo.engine.events.recent().some((e) => e.kind === 'reload' && /TLS certificates reloaded by cli/.test(e.message)));

  // A certificate without its key: the reload fails, says why, and the running pair stays.
  copyFileSync(other.cert, cert);
  const err = await t.throwsAsync(velo.control.reload('api'), { instanceOf: ConfigError });
  t.regex(err!.message, /listen\.tls\.cert: .*does not match the private key/);
  t.true(velo.engine.events.recent().some((e) => e.kind === 'reload' && e.level === 'error' && /does not match the private key/.test(e.message)));
  const still = await handshake(port);
  still.socket.destroy();
  t.is(still.serial, second.serial, 'the old certificate is still served');
  t.is(await requestOn(open.socket), 'HTTP/1.1 200 OK');

  // Files changing on disk are picked up without any reload command.
  copyFileSync(first.key, key);
  copyFileSync(first.cert, cert);
  await eventually(async () => {
    const h = await handshake(port);
    h.socket.destroy();
    return h.serial === first.serial;
  }, 5000, 'the file watch to install the first certificate again');
  t.pass();
});

test('SNI picks the certificate whose hosts match (exact, then one-label wildcard), else the default one', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const def = makeCert(dir, 'default', ['default.test']);
  const a = makeCert(dir, 'a', ['a.test']);
  const bb = makeCert(dir, 'b', ['b.test', '*.b.test']);
  const yaml = [
    'listen:',
    '  tls:',
    `    cert: ${def.cert}`,
    `    key: ${def.key}`,
    '    certificates:',
    `      - { hosts: [a.test], cert: ${a.cert}, key: ${a.key} }`,
    `      - { hosts: [b.test, "*.b.test"], cert: ${bb.cert}, key: ${bb.key} }`,
    NO_HEALTH,
  ].join('\n');
  const velo = await startVelo(t, yaml, [b!.url]);
  const port = velo.engine.address.port;
  const subjectFor = async (servername: string): Promise<string> => {
    const h = await handshake(port, { servername });
    h.socket.destroy();
    return h.subject;
  };
  t.is(await subjectFor('a.test'), 'a.test');
  t.is(await subjectFor('b.test'), 'b.test');
  t.is(await subjectFor('x.b.test'), 'b.test');
  t.is(await subjectFor('y.x.b.test'), 'default.test', 'a wildcard covers one label only');
  t.is(await subjectFor('elsewhere.test'), 'default.test');
});

test('min_version: TLSv1.1 is refused by default, TLSv1.2 by min_version: TLSv1.3', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const c = makeCert(dir, 'srv', ['localhost']);
  const byDefault = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} } }\n${NO_HEALTH}`, [b!.url]);
  await t.throwsAsync(handshake(byDefault.engine.address.port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
  t.is((await handshake(byDefault.engine.address.port, { maxVersion: 'TLSv1.2' }).then((h) => (h.socket.destroy(), h))).protocol, 'TLSv1.2');
  const strict = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key}, min_version: TLSv1.3 } }\n${NO_HEALTH}`, [b!.url]);
  await t.throwsAsync(handshake(strict.engine.address.port, { maxVersion: 'TLSv1.2' }));
  const h = await handshake(strict.engine.address.port);
  h.socket.destroy();
  t.is(h.protocol, 'TLSv1.3');
});

test('ciphers restrict TLSv1.2 suites; an unknown cipher list fails at start naming listen.tls.ciphers', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const c = makeCert(dir, 'srv', ['localhost']);
  const velo = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key}, ciphers: ECDHE-ECDSA-AES256-GCM-SHA384 } }\n${NO_HEALTH}`, [b!.url]);
  await t.throwsAsync(handshake(velo.engine.address.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
  const h = await handshake(velo.engine.address.port, { maxVersion: 'TLSv1.2' });
  t.is(h.socket.getCipher().name, 'ECDHE-ECDSA-AES256-GCM-SHA384');
  h.socket.destroy();
  const err = await t.throwsAsync(startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key}, ciphers: NOT-A-CIPHER } }\n${NO_HEALTH}`, [b!.url]), { instanceOf: ConfigError });
  t.regex(err!.message, /listen\.tls\.ciphers/);
});

test('a shutdown does not wait for connections that have not finished their TLS handshake', async (t) => {
  const [b] = await startBackends(t, 1);
  const dir = certDir(t);
  const c = makeCert(dir, 'srv', ['localhost']);
  const velo = await startVelo(t, `listen: { tls: { cert: ${c.cert}, key: ${c.key} } }\nclient_timeouts: { tls_handshake: 30s }\nshutdown_timeout: 5s\n${NO_HEALTH}`, [b!.url]);
  const silent = net.connect(velo.engine.address.port, '127.0.0.1');
  const stalled = net.connect(velo.engine.address.port, '127.0.0.1', () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
  for (const s of [silent, stalled]) {
    s.on('error', () => {});
    t.teardown(() => s.destroy());
  }
  const connections = (): Promise<number> => new Promise((r) => velo.engine.server!.getConnections((_e, n) => r(n)));
  await eventually(async () => stalled.bytesWritten > 0 && (await connections()) === 2, 3000, 'velo to accept both');
  const started = Date.now();
  const outcome = await Promise.race([velo.engine.stop().then(() => 'stopped'), new Promise((r) => setTimeout(r, 4000, 'still waiting')).then(String)]);
  t.is(outcome, 'stopped', `stop() after ${Date.now() - started}ms`);
});
