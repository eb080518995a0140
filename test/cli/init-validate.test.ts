import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  t.regex(run.stderr, /^velo: .*mine\.yaml already exists; pass --force to overwrite it\n$/);
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
  t.true(run.stderr.startsWith(`velo: 3 problems in ${file}:`), run.stderr);
  t.true(run.stderr.includes(`${file}:2:9 listen.port`));
  t.true(run.stderr.includes(`${file}:3:1 stratgy: unknown key "stratgy" (did you mean "strategy"?)`));
  t.true(run.stderr.includes(`${file}:4:22 backends[1]: duplicate backend`));
  t.notRegex(run.stderr, /\n\s+at /);
});

test.serial('validate of a file that does not exist exits 2 with a one-line reason', async (t) => {
  const file = join(await tempDir(t), 'nope.yaml');
  const run = await velo('validate', '-c', file);
  t.is(run.exitCode, 2);
  t.regex(run.stderr, /^velo: 1 problem in .*nope\.yaml:\n.*cannot read .*nope\.yaml: file not found/);
  t.notRegex(run.stderr, /\n\s+at /);
});

test.serial('validate takes the file as an argument like init; -c still works', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'staging.yaml');
  t.is((await velo('init', file)).exitCode, 0);
  t.deepEqual(await velo('validate', file), { exitCode: 0, stdout: `ok: ${file} (1 pool, 3 backends)\n`, stderr: '' });
  t.is((await velo('validate', '-c', file)).exitCode, 0);
  const both = await velo('validate', file, '-c', join(dir, 'other.yaml'));
  t.is(both.exitCode, 2);
  t.regex(both.stderr, /^velo: give the file once/);
});

test.serial('init x.json writes JSON that validates strictly; a trailing comma is an error with line:column', async (t) => {
  const file = join(await tempDir(t), 'velo.json');
  const init = await velo('init', file);
  t.is(init.exitCode, 0, init.stderr);
  const text = await readFile(file, 'utf8');
  const json = JSON.parse(text);
  t.like(json, { listen: { port: 8080 }, admin: { port: 8407 }, strategy: 'round-robin' });
  t.deepEqual({ ...parseConfigText(text, file), source: '' }, { ...parseConfigText(CONFIG_TEMPLATE, join(dirname(file), 'velo.config.yaml')), source: '' }, 'the same config as the YAML template');
  t.deepEqual(await velo('validate', file), { exitCode: 0, stdout: `ok: ${file} (1 pool, 3 backends)\n`, stderr: '' });
  await writeFile(file, '{\n  "listen": { "port": 8080 },\n  "backends": ["http://127.0.0.1:8081",]\n}\n');
  const bad = await velo('validate', file);
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, new RegExp(`^velo: 1 problem in ${file.replace(/[.\\/]/g, '\\$&')}:\\n {2}${file.replace(/[.\\/]/g, '\\$&')}:3:39 \\(syntax\\): trailing comma`));
  await writeFile(file, '{ "listen": { port: 8080 } }\n');
  const unquoted = await velo('validate', file);
  t.is(unquoted.exitCode, 2);
  t.regex(unquoted.stderr, /:1:15 \(syntax\): Expected property name or '}'/);
});
