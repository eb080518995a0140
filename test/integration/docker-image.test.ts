/**
 * velo as a container (issue 12 part 3), built for real: README's "Run in Docker" commands
 * (examples/docker-run.sh, run as the README quotes it) build the image and serve a request;
 * then `docker stop` during a slow request lets it finish with 200 and velo exit 0, and the
 * image's HEALTHCHECK reports healthy. Where node:20-bookworm-slim cannot be pulled (no
 * registry), the build uses a stand-in base made from this machine's node
 * (scripts/docker-stand-in-base.sh). Skipped, visibly, only when dockerd cannot start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { request } from 'undici';
import { startTestBackend } from '../../src/backend/test-backend.js';
import { docker, dockerReady, portBlock, removeAtEnd, ROOT, run, within } from '../discovery/docker-env.js';

const ready = await dockerReady();
const nextPort = portBlock();
const IMAGE = 'velo:ci';

/** The README's "Run in Docker" block, line for line the script's commands. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /### Run in Docker\n([\s\S]*?)(?=\n## )/.exec(readme)?.[1] ?? '';
  return (/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n').filter((l) => l.trim() !== '');
}

function scriptCommands(): string[] {
  const lines = readFileSync(join(ROOT, 'examples/docker-run.sh'), 'utf8').split('\n');
  // What follows `cd` to the repository root is what the README quotes.
  return lines.slice(lines.findIndex((l) => l.startsWith('cd ')) + 1).filter((l) => l.trim() !== '');
}

test('README "Run in Docker" quotes examples/docker-run.sh exactly', (t) => {
  const readme = readmeCommands();
  t.true(readme.length > 5, 'the README has the section and its sh block');
  t.deepEqual(readme, scriptCommands());
});

/** The base to build on: the real one when it is there or can be pulled, else the stand-in. */
async function baseImage(): Promise<string> {
  if ((await run('docker', ['image', 'inspect', 'node:20-bookworm-slim'])).code === 0) return 'node:20-bookworm-slim';
  if ((await run('docker', ['pull', 'node:20-bookworm-slim'], { timeoutMs: 30_000 })).code === 0) return 'node:20-bookworm-slim';
  const r = await run('bash', ['scripts/docker-stand-in-base.sh'], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`stand-in base: ${r.stderr}`);
  return 'velo-node-base:local';
}

if (!ready.ok) {
  test.skip(`velo image tests skipped: dockerd cannot start here (${ready.reason})`, () => {});
} else {
  test.serial('the README commands build the image, serve through it, and stop it with exit code 0', async (t) => {
    t.timeout(600_000);
    const base = await baseImage();
    const name = `velo-readme-${process.pid}`;
    removeAtEnd(t, name, `${name}-backend`);
    const env = { BASE: base, IMAGE, NAME: name, PORT: String(nextPort()), ADMIN_PORT: String(nextPort()), BACKEND_PORT: String(nextPort()) };
    const began = Date.now();
    const r = await run('sh', ['examples/docker-run.sh'], { env, timeoutMs: 590_000 });
    t.log(`base ${base}; examples/docker-run.sh took ${Math.round((Date.now() - began) / 1000)} s (build included)`);
    t.is(r.code, 0, r.stderr.slice(-3000));
    t.regex(r.stdout, /"name":\s*"backend-\d+"|backend-\d+/, 'the request went through velo to the backend container');
    t.regex(r.stdout, /velo exited with code 0/);
    const size = Number(await docker('image', 'inspect', '-f', '{{.Size}}', IMAGE));
    t.log(`image ${IMAGE}: ${(size / 1e6).toFixed(0)} MB`);
    t.is(await docker('image', 'inspect', '-f', '{{.Config.User}}', IMAGE), 'node', 'runs as the non-root user');
  });

  test.serial('docker stop during a slow request: the request completes with 200, velo exits 0; HEALTHCHECK says healthy', async (t) => {
    t.timeout(120_000);
    if ((await run('docker', ['image', 'inspect', IMAGE])).code !== 0) return t.fail(`${IMAGE} was not built by the test before`);
    const backend = await startTestBackend({ name: 'slow' });
    t.teardown(() => backend.close());
    const name = `velo-stop-${process.pid}`;
    removeAtEnd(t, name);
    const [port, adminPort] = [nextPort(), nextPort()];
    await docker(
      'run', '-d', '--name', name, '--network', 'host', '--stop-timeout', '15',
      '-v', `${join(ROOT, 'examples/docker/velo.config.yaml')}:/etc/velo/velo.config.yaml:ro`,
      '-e', `VELO_PORT=${port}`, '-e', `VELO_ADMIN_PORT=${adminPort}`, '-e', `VELO_BACKENDS=${backend.url}`,
      IMAGE,
    );
    const url = `http://127.0.0.1:${port}`;
    await within(20_000, 'velo in the container answers', async () => (await request(url).then(async (res) => (await res.body.text(), res.statusCode)).catch(() => 0)) === 200);
    await within(30_000, 'the HEALTHCHECK reports healthy', async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', name)) === 'healthy');

    const before = backend.requests;
    const slow = request(`${url}/delay/2000`).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
    await within(5000, 'the slow request reached the backend', () => backend.requests > before);
    const stopped = Date.now();
    await docker('stop', name);
    const reply = await slow;
    t.log(`docker stop returned after ${Date.now() - stopped} ms`);
    t.is(reply.status, 200);
    t.regex(reply.body, /"delayMs":\s*2000/);
    t.is(await docker('inspect', '-f', '{{.State.ExitCode}}', name), '0');
    const logs = await run('docker', ['logs', name]);
    t.regex(logs.stdout + logs.stderr, /signal received, draining/);
  });
}
