/** `log_level: debug` really adds detail: selection decisions, retries and probe results, each naming the backend by name and url. */
import test from 'ava';
import { Logger } from '../../src/log/logger.js';
import { client, eventually, get, refusingUrl, startBackends, startVelo } from '../integration/harness.js';

function capture(level: 'debug' | 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: new Logger(level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

test('debug logs selections, retries and probe results with name and url; info logs none of them', async (t) => {
  const backends = await startBackends(t, 1);
  const dead = refusingUrl();
  const yaml = `health_check: { interval: 100ms, timeout: 2s }\nbackends:\n  - { url: ${dead}, name: dead }\n  - { url: ${backends[0]!.url}, name: live }\n`;
  const debug = capture('debug');
  const velo = await startVelo(t, yaml, undefined, { logger: debug.logger });
  await eventually(() => debug.lines.some((l) => l.msg === 'health probe' && l.name === 'live' && l.ok === true), 10_000, 'a probe result');
  const agent = client(t);
  t.is((await get(agent, `${velo.url}/`)).status, 200);
  await eventually(() => debug.lines.some((l) => l.msg === 'backend selected' && l.name === 'live'), 5000, 'selection');
  const selected = debug.lines.filter((l) => l.msg === 'backend selected');
  t.true(selected.every((l) => typeof l.url === 'string' && l.pool === 'default' && l.strategy === 'round-robin'));
  const probe = debug.lines.find((l) => l.msg === 'health probe' && l.name === 'dead');
  t.like(probe, { url: dead, ok: false });
  const transition = debug.lines.find((l) => l.msg === 'health transition');
  if (transition !== undefined) t.true('name' in transition && 'url' in transition && !('backend' in transition));

  const info = capture('info');
  const quiet = await startVelo(t, `health_check: { enabled: false }\nbackends: [${dead}, ${backends[0]!.url}]\n`, undefined, { logger: info.logger });
  t.is((await get(agent, `${quiet.url}/`)).status, 200, 'the dead backend costs a retry');
  t.is((await get(agent, `${quiet.url}/`)).status, 200);
  t.false(info.lines.some((l) => ['backend selected', 'retrying on another backend', 'health probe'].includes(String(l.msg))));

  const retries = capture('debug');
  const retrying = await startVelo(t, `health_check: { enabled: false }\nbackends: [${dead}, ${backends[0]!.url}]\n`, undefined, { logger: retries.logger });
  t.is((await get(agent, `${retrying.url}/`)).status, 200);
  t.like(retries.lines.find((l) => l.msg === 'retrying on another backend'), { failure: 'connect', url: dead });
});
