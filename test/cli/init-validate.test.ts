import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Command } from 'commander';
import { registerInitCommand } from '../../src/cli/init.js';
import { registerValidateCommand } from '../../src/cli/validate.js';
import { parseConfigText } from '../../src/config/load.js';
import { CONFIG_TEMPLATE } from '../../src/config/template.js';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `velo ARGS` in-process; serial tests only, since it reads and resets process.exitCode. */
async function velo(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const program = new Command('velo')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (stdout += s), writeErr: (s) => void (stderr += s) });
  registerInitCommand(program);
  registerValidateCommand(program);
  process.exitCode = undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
    return { exitCode: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.exitCode = undefined;
  }
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'velo-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the template is the shipped velo.config.yaml and is itself valid', async (t) => {
  const shipped = await readFile(new URL('../../velo.config.yaml', import.meta.url), 'utf8');
  t.is(CONFIG_TEMPLATE, shipped);
  const config = parseConfigText(CONFIG_TEMPLATE, 'velo.config.yaml');
  t.deepEqual(config.pools[0]!.backends.map((b) => b.url), ['http://127.0.0.1:8081', 'http://127.0.0.1:8082', 'http://127.0.0.1:8083']);
});

test.serial('init writes a config that validates', async (t) => {
  const file = join(await tempDir(t), 'velo.config.yaml');
  const init = await velo('init', file);
  t.is(init.exitCode, 0, init.stderr);
  t.is(await readFile(file, 'utf8'), CONFIG_TEMPLATE);
  const validate = await velo('validate', '-c', file);
  t.deepEqual(validate, { exitCode: 0, stdout: `ok: ${file} (1 pool, 3 backends)\n`, stderr: '' });
});

test.serial('a second init refuses to overwrite without --force and leaves the file untouched', async (t) => {
  const file = join(await tempDir(t), 'mine.yaml');
  await writeFile(file, 'backends: [http://10.0.0.1]\n');
  const before = await stat(file);
  const run = await velo('init', file);
  t.is(run.exitCode, 2);
  t.is(run.stdout, '');
  t.regex(run.stderr, /mine\.yaml already exists; pass --force to overwrite it/);
  t.is(await readFile(file, 'utf8'), 'backends: [http://10.0.0.1]\n');
  t.is((await stat(file)).mtimeMs, before.mtimeMs);
});

test.serial('init --force overwrites', async (t) => {
  const file = join(await tempDir(t), 'mine.yaml');
  await writeFile(file, 'old: true\n');
  const run = await velo('init', file, '--force');
  t.is(run.exitCode, 0, run.stderr);
  t.is(await readFile(file, 'utf8'), CONFIG_TEMPLATE);
});

test.serial('validate prints every problem with line:column and exits 2, without a stack trace', async (t) => {
  const file = join(await tempDir(t), 'bad.yaml');
  await writeFile(file, 'listen:\n  port: 99999\nstratgy: rr\nbackends: [http://a, http://A:80]\n');
  const run = await velo('validate', '-c', file);
  t.is(run.exitCode, 2);
  t.is(run.stdout, '');
  t.true(run.stderr.startsWith(`3 problems in ${file}:`), run.stderr);
  t.true(run.stderr.includes(`${file}:2:9 listen.port`));
  t.true(run.stderr.includes(`${file}:3:1 stratgy: unknown key "stratgy" (did you mean "strategy"?)`));
  t.true(run.stderr.includes(`${file}:4:22 backends[1]: duplicate backend`));
  t.notRegex(run.stderr, /\n\s+at /);
});

test.serial('validate of a file that does not exist exits 2 with a one-line reason', async (t) => {
  const file = join(await tempDir(t), 'nope.yaml');
  const run = await velo('validate', '-c', file);
  t.is(run.exitCode, 2);
  t.regex(run.stderr, /cannot read .*nope\.yaml: file not found/);
  t.notRegex(run.stderr, /\n\s+at /);
});
