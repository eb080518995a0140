/**
 * 1 GiB up and 1 GiB down through a velo process, sha256 checked on both ends, while velo's
 * resident memory is sampled: bodies stream, so velo's RSS must not grow with the body.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { recordFigures, type Figure } from './figures.js';
import { agent, HAS_PROC, mib, startVeloProcess, type VeloProcess } from './velo-process.js';

const GIB = 1024 ** 3;
const CHUNK = 256 * 1024;
const RSS_GROWTH_LIMIT = 200 * 1024 ** 2;
const figures: Array<[string, Figure]> = [];

test.after.always(() => recordFigures('transfer', '1 GiB upload and download', figures));

const BLOCK = randomBytes(CHUNK);

/** The i-th chunk of the test body: a random block stamped with its index, so no two chunks are equal. */
function chunk(i: number): Buffer {
  const b = Buffer.from(BLOCK);
  b.writeUInt32BE(i, 0);
  return b;
}

async function* body(bytes: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for (let i = 0; i * CHUNK < bytes; i++) {
    const c = chunk(i);
    hash.update(c);
    yield c;
  }
}

interface TransferBackend {
  url: string;
  /** sha256 of the last download it sent, set once the response ended. */
  sentSha?: string;
}

/** POST /upload answers {bytes, sha256} of what it received; GET /download streams 1 GiB and remembers its sha256. */
async function startTransferBackend(t: Parameters<typeof startVeloProcess>[0]): Promise<TransferBackend> {
  const state: TransferBackend = { url: '' };
  const server = http.createServer((req, res) => {
    if (req.url === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (d: Buffer) => {
        bytes += d.length;
        hash.update(d);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    if (req.url === '/download') {
      const hash = createHash('sha256');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GIB) });
      let i = 0;
      const pump = (): void => {
        while (i * CHUNK < GIB) {
          const c = chunk(i++);
          hash.update(c);
          if (!res.write(c)) return void res.once('drain', pump);
        }
        state.sentSha = hash.digest('hex');
        res.end();
      };
      pump();
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Samples velo's RSS every 100 ms until stopped; returns the highest sample. */
function sampleRss(velo: VeloProcess): () => number {
  let peak = velo.rssBytes();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, velo.rssBytes());
    } catch {
      // velo exited: the test's own assertions report it.
    }
  }, 100);
  return () => (clearInterval(timer), peak);
}

const CONFIG = (backend: string): string =>
  `listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\nhealth_check: { enabled: false }\n` +
  `client_timeouts: { request: 5m }\ntimeouts: { response: 2m, idle: 2m }\nbackends: [${backend}]\n`;

(HAS_PROC ? test.serial : test.serial.skip)('1 GiB upload through velo: the backend receives every byte (sha256), velo RSS grows < 200 MiB', async (t) => {
  const backend = await startTransferBackend(t);
  const velo = await startVeloProcess(t, CONFIG(backend.url));
  const rssBefore = velo.rssBytes();
  const stopSampling = sampleRss(velo);
  const sent = createHash('sha256');
  const started = Date.now();
  const res = await request(`${velo.url}/upload`, {
    method: 'POST',
    body: Readable.from(body(GIB, sent)),
    dispatcher: agent(t, 1, { bodyTimeout: 120_000, headersTimeout: 120_000 }),
  });
  const got = (await res.body.json()) as { bytes: number; sha256: string };
  const seconds = (Date.now() - started) / 1000;
  const peak = stopSampling();
  t.is(res.statusCode, 200);
  t.is(got.bytes, GIB);
  t.is(got.sha256, sent.digest('hex'), 'the backend got exactly what was sent');
  t.true(peak - rssBefore < RSS_GROWTH_LIMIT, `velo RSS grew ${mib(peak - rssBefore)} MiB`);
  figures.push(
    ['upload: 1 GiB through velo', `${seconds.toFixed(1)} s, ${Math.round(GIB / 2 ** 20 / seconds)} MiB/s`],
    ['upload: velo RSS before / peak (sampled every 100 ms)', `${mib(rssBefore)} / ${mib(peak)} MiB`],
  );
  t.is((await velo.stop()).code, 0);
});

(HAS_PROC ? test.serial : test.serial.skip)('1 GiB download through velo: the client receives every byte (sha256), velo RSS grows < 200 MiB', async (t) => {
  const backend = await startTransferBackend(t);
  const velo = await startVeloProcess(t, CONFIG(backend.url));
  const rssBefore = velo.rssBytes();
  const stopSampling = sampleRss(velo);
  const received = createHash('sha256');
  let bytes = 0;
  const started = Date.now();
  const res = await request(`${velo.url}/download`, { dispatcher: agent(t, 1, { bodyTimeout: 120_000, headersTimeout: 120_000 }) });
  for await (const c of res.body) {
    bytes += (c as Buffer).length;
    received.update(c as Buffer);
  }
  const seconds = (Date.now() - started) / 1000;
  const peak = stopSampling();
  t.is(res.statusCode, 200);
  t.is(bytes, GIB);
  t.is(received.digest('hex'), backend.sentSha ?? '(the backend did not finish)', 'the client got exactly what the backend sent');
  t.true(peak - rssBefore < RSS_GROWTH_LIMIT, `velo RSS grew ${mib(peak - rssBefore)} MiB`);
  figures.push(
    ['download: 1 GiB through velo', `${seconds.toFixed(1)} s, ${Math.round(GIB / 2 ** 20 / seconds)} MiB/s`],
    ['download: velo RSS before / peak (sampled every 100 ms)', `${mib(rssBefore)} / ${mib(peak)} MiB`],
  );
  t.is((await velo.stop()).code, 0);
});
