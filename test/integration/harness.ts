/**
 * Real sockets on port 0: test backends and an in-process velo, closed by the test's teardown.
 */
import type { ExecutionContext } from 'ava';
import { Agent, request } from 'undici';
import { startTestBackend, type TestBackend, type TestBackendOptions } from '../../src/backend/test-backend.js';
import { parseConfigText } from '../../src/config/load.js';
import type { VeloConfig } from '../../src/config/types.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { Control } from '../../src/engine/control.js';
import { Logger } from '../../src/log/logger.js';

export async function startBackends(t: ExecutionContext, count: number, opts: TestBackendOptions = {}): Promise<TestBackend[]> {
  const backends = await Promise.all(
    Array.from({ length: count }, (_, i) => startTestBackend({ ...opts, name: opts.name ?? `b${i}` })),
  );
  t.teardown(() => Promise.all(backends.map((b) => b.close())).then(() => undefined));
  return backends;
}

export interface Velo {
  engine: Engine;
  control: Control;
  url: string;
  config: VeloConfig;
}

/** Starts velo on 127.0.0.1:0; `yaml` is a config file text, `backends` replace the first pool's. */
export async function startVelo(
  t: ExecutionContext,
  yaml: string,
  backends?: string[],
  options: Partial<EngineOptions> = {},
): Promise<Velo> {
  const config = parseConfigText(yaml, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0, backends } });
  const engine = new Engine({ config, logger: new Logger('silent'), sampleEveryMs: 0, ...options });
  const control = new Control(engine);
  await engine.start();
  t.teardown(() => engine.stop());
  return { engine, control, url: `http://127.0.0.1:${engine.address.port}`, config };
}

/** A client with its own keep-alive pool, closed at teardown. */
export function client(t: ExecutionContext, connections = 128): Agent {
  const agent = new Agent({ connections, keepAliveTimeout: 10_000 });
  t.teardown(() => agent.close());
  return agent;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function get(agent: Agent, url: string, init: Parameters<typeof request>[1] = {}): Promise<Reply> {
  const res = await request(url, { dispatcher: agent, ...init });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

/** Counts how many of `bodies` came from each backend name. */
export function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

export const FAST_HEALTH = 'health_check: { interval: 100ms, timeout: 200ms, rise: 1, fall: 1 }\n';

/**
 * A backend URL that refuses connections: a low port nothing listens on. Never a port taken
 * from a closed port-0 server: a test running in parallel may be given that port meanwhile.
 */
export function refusingUrl(n = 1): string {
  return `http://127.0.0.1:${n}`;
}
