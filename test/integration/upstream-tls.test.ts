import test, { type ExecutionContext } from 'ava';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { client, eventually, FAST_HEALTH, get, startVelo } from './harness.js';
import { certDir, makeCert, type Pem } from './tls-certs.js';

const NO_HEALTH = 'health_check: { enabled: false }\n';

/** An https backend answering `ok <sni>` whose certificate is `pem`; `clientCa` makes it require a client certificate. */
async function httpsBackend(t: ExecutionContext, pem: Pem, clientCa?: Pem): Promise<{ url: string; servernames: string[] }> {
  const servernames: string[] = [];
  const server = https.createServer(
    {
      cert: readFileSync(pem.cert),
      key: readFileSync(pem.key),
      ...(clientCa !== undefined ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(clientCa.cert) } : {}),
    },
    (req, res) => {
      servernames.push(String((req.socket as unknown as { servername?: string | false }).servername));
      res.end(`ok\n`);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, servernames };
}

test('an https backend signed by a private CA: 502 without tls.ca, 200 with it, and its health checks use the CA too', async (t) => {
  const dir = certDir(t);
  const ca = makeCert(dir, 'ca', [], { isCa: true });
  const leaf = makeCert(dir, 'backend', ['127.0.0.1', 'api.internal'], { ca });
  const backend = await httpsBackend(t, leaf);
  const agent = client(t);
  const without = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\nretry: { attempts: 0 }\n`);
  t.is((await get(agent, without.url)).status, 502);
  const withCa = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\ntls: { ca: ${ca.cert} }\n`);
  const reply = await get(agent, withCa.url, { headers: { host: 'client.example' } });
  t.is(reply.status, 200);
  t.is(backend.servernames.at(-1), 'false', 'an IP backend gets no SNI, and the client Host is not used as one');
  const named = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\ntls: { ca: ${ca.cert}, servername: api.internal }\n`);
  t.is((await get(agent, named.url, { headers: { host: 'client.example' } })).status, 200);
  t.is(backend.servernames.at(-1), 'api.internal', 'servername overrides SNI');
  const checked = await startVelo(t, `${FAST_HEALTH}backends: [${backend.url}]\ntls: { ca: ${ca.cert} }\n`);
  await eventually(() => checked.engine.pools[0]!.upstreams[0]!.health.state === 'healthy', 5000, 'health check over TLS with the CA');
  t.is(checked.engine.pools[0]!.upstreams[0]!.lastCheck?.ok, true);
});

test('verify: false accepts any backend certificate and says so in the event log', async (t) => {
  const dir = certDir(t);
  const self = makeCert(dir, 'self', ['elsewhere.test']);
  const backend = await httpsBackend(t, self);
  const velo = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\ntls: { verify: false }\n`);
  t.is((await get(client(t), velo.url)).status, 200);
  t.true(velo.engine.events.recent().some((e) => e.level === 'warn' && /tls\.verify is false/.test(e.message)));
});

test('an mTLS backend answers only when velo presents tls.cert and tls.key', async (t) => {
  const dir = certDir(t);
  const ca = makeCert(dir, 'ca', [], { isCa: true });
  const leaf = makeCert(dir, 'backend', ['127.0.0.1'], { ca });
  const clientCa = makeCert(dir, 'client-ca', [], { isCa: true });
  const clientCert = makeCert(dir, 'velo', ['velo.client'], { ca: clientCa });
  const backend = await httpsBackend(t, leaf, clientCa);
  const agent = client(t);
  const anonymous = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\nretry: { attempts: 0 }\ntls: { ca: ${ca.cert} }\n`);
  t.is((await get(agent, anonymous.url)).status, 502);
  const mtls = await startVelo(t, `${NO_HEALTH}backends: [${backend.url}]\ntls: { ca: ${ca.cert}, cert: ${clientCert.cert}, key: ${clientCert.key} }\n`);
  t.is((await get(agent, mtls.url)).status, 200);
});
