/**
 * `GET /metrics` against a real engine, read with a strict parser of the Prometheus text
 * exposition format (0.0.4): every line, every family, histogram invariants.
 */
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../../src/config/load.js';
import { client, eventually, FAST_HEALTH, get, startBackends, refusingUrl } from '../integration/harness.js';
import { NO_HEALTH, startAdminVelo, type AdminVelo } from '../admin/admin-harness.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
// Prometheus reads values with Go's strconv.ParseFloat: Inf and NaN in any case (prom-client writes "Nan").
const VALUE = '[-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN]';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (${VALUE})(?: -?\\d+)?$`);
const META_LINE = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`);

/** Parses exposition text strictly; throws naming the first line that breaks the format. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | undefined;
  const closed = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '' || (line.startsWith('#') && !META_LINE.test(line) && !/^# (HELP|TYPE) /.test(line))) continue;
    const meta = META_LINE.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (current !== name && current !== undefined) closed.add(current);
      if (closed.has(name!)) fail('metadata after the family was closed');
      current = name;
      const f = families.get(name!) ?? { type: 'untyped', samples: [] };
      if (kind === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(rest ?? '') || families.get(name!)?.samples.length) fail('bad or late TYPE');
        f.type = rest!;
      } else f.help = rest ?? '';
      families.set(name!, f);
      continue;
    }
    const m = SAMPLE_LINE.exec(line) ?? fail('not a sample line');
    const [, name, labelText = '', value] = m;
    const family = [...families.keys()].find((f) => name === f || (families.get(f)!.type === 'histogram' && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(name!)));
    if (family === undefined || family !== current) fail('sample outside its family');
    const labels = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail('duplicate sample');
    seen.add(key);
    const v = /^[+]?inf/i.test(value!) ? Infinity : /^-inf/i.test(value!) ? -Infinity : /^nan$/i.test(value!) ? NaN : Number(value);
    if (families.get(family!)!.type === 'counter' && !(v >= 0)) fail('negative counter');
    families.get(family!)!.samples.push({ name: name!, labels, value: v });
  }
  for (const [name, f] of families) if (f.type === 'histogram') checkHistogram(name, f);
  return families;
}

function checkHistogram(name: string, f: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (s.name === `${name}_bucket` && le === undefined) throw new Error(`${name}: bucket without le`);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    if (les.at(-1) !== Infinity) throw new Error(`${name}${key}: no +Inf bucket`);
    if (les.some((le, i) => i > 0 && le <= les[i - 1]!)) throw new Error(`${name}${key}: le not increasing`);
    if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1]!.value)) throw new Error(`${name}${key}: buckets not cumulative`);
    const count = samples.find((s) => s.name === `${name}_count`);
    if (!samples.some((s) => s.name === `${name}_sum`) || count?.value !== buckets.at(-1)!.value) throw new Error(`${name}${key}: _count must equal the +Inf bucket`);
  }
}

async function scrape(t: ExecutionContext, velo: AdminVelo): Promise<Map<string, Family>> {
  const r = await velo.api('GET', '/metrics');
  t.is(r.status, 200);
  t.regex(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? families.get(name);
  return family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('the parser itself rejects broken exposition text', (t) => {
  t.notThrows(() => parseExposition('# HELP a_total x\n# TYPE a_total counter\na_total{x="1"} 2\n'));
  for (const bad of ['a_total{x=1} 2', '# TYPE a counter\na{x="1"}', '# TYPE a counter\na -1', '# TYPE a counter\na 1\na 2', 'b 1', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1']) {
    t.throws(() => parseExposition(bad), undefined, bad);
  }
});

test('every line of /metrics is valid exposition text with all velo_* families and their types', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  const agent = client(t);
  for (let i = 0; i < 3; i++) await get(agent, `${velo.url}/`);
  const families = await scrape(t, velo);
  const types = Object.fromEntries([...families].filter(([n]) => n.startsWith('velo_') && !/^velo_(process|nodejs)_/.test(n)).map(([n, f]) => [n, f.type]));
  t.deepEqual(types, {
    velo_requests_total: 'counter',
    velo_request_duration_seconds: 'histogram',
    velo_health_checks_total: 'counter',
    velo_config_reloads_total: 'counter',
    velo_backend_up: 'gauge',
    velo_backend_active_connections: 'gauge',
    velo_circuit_state: 'gauge',
    velo_queue_depth: 'gauge',
    velo_retries_total: 'counter',
    velo_rate_limited_total: 'counter',
    velo_outlier_ejections_total: 'counter',
    velo_backend_slow_start_percent: 'gauge',
    velo_websocket_connections: 'gauge',
    velo_websocket_sessions_total: 'counter',
  });
  t.true(families.has('velo_process_cpu_user_seconds_total'), 'process metrics carry the velo_ prefix');
  t.true([...families.values()].every((f) => f.help !== undefined && f.help.length > 0));
  const sum = backends.reduce((n, b) => n + (value(families, 'velo_requests_total', { pool: 'default', backend: b.url, method: 'GET', code: '200' }) ?? 0), 0);
  t.is(sum, 3);
  t.is(value(families, 'velo_backend_up', { backend: backends[0]!.url }), 1);
  t.is(value(families, 'velo_circuit_state', { backend: backends[0]!.url }), 0);
  t.is(value(families, 'velo_queue_depth', { pool: 'default' }), 0);
  t.is(value(families, 'velo_config_reloads_total', { result: 'failure' }), 0);
});

test('a failed attempt is counted with its real status (502), never 200, and retries are counted', async (t) => {
  const backends = await startBackends(t, 1);
  const dead = refusingUrl();
  const single = await startAdminVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\n`, [dead]);
  const agent = client(t);
  t.is((await get(agent, `${single.url}/`)).status, 502);
  const failed = await scrape(t, single);
  t.is(value(failed, 'velo_requests_total', { backend: dead, method: 'GET', code: '502' }), 1);
  t.is(value(failed, 'velo_requests_total', { code: '200' }), undefined);
  t.is(value(failed, 'velo_retries_total', {}), 0);
  const pair = await startAdminVelo(t, NO_HEALTH, [dead, backends[0]!.url]);
  for (let i = 0; i < 4; i++) t.is((await get(agent, `${pair.url}/`)).status, 200);
  const retried = await scrape(t, pair);
  t.true(value(retried, 'velo_retries_total', {})! >= 1);
  t.is(value(retried, 'velo_requests_total', { backend: backends[0]!.url, code: '200' }), 4);
});

test('the latency histogram has proxy buckets from 1 ms to 30 s', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  await get(client(t), `${velo.url}/delay/30`);
  const families = await scrape(t, velo);
  const buckets = families.get('velo_request_duration_seconds')!.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.backend === backends[0]!.url);
  const les = buckets.map((b) => b.labels.le);
  t.is(les[0], '0.001');
  t.is(les.at(-2), '30');
  t.is(les.at(-1), '+Inf');
  t.is(value(families, 'velo_request_duration_seconds_bucket', { le: '0.025', backend: backends[0]!.url }), 0);
  t.is(value(families, 'velo_request_duration_seconds_count', { backend: backends[0]!.url }), 1);
  t.true(value(families, 'velo_request_duration_seconds_sum', { backend: backends[0]!.url })! >= 0.03);
});

test('gauges follow the engine: draining, in-flight, open circuit; unknown methods become "other"', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, `${NO_HEALTH}retry: { attempts: 0 }\ncircuit_breaker: { failure_threshold: 1, reset_timeout: 1m }\n`, backends.map((b) => b.url));
  const [a, b] = backends.map((x) => x.url) as [string, string];
  velo.control.drain('default', a);
  const slow = get(client(t), `${velo.url}/delay/400`);
  await eventually(() => velo.engine.pools[0]!.upstreams[1]!.inFlight === 1, 2000, 'in flight');
  let families = await scrape(t, velo);
  t.is(value(families, 'velo_backend_up', { backend: a }), 0);
  t.is(value(families, 'velo_backend_active_connections', { backend: b }), 1);
  await slow;
  await get(client(t), `${velo.url}/`, { method: 'PROPFIND' });
  velo.control.undrain('default', a);
  await backends[0]!.close();
  const agent = client(t);
  for (let i = 0; i < 2; i++) await get(agent, `${velo.url}/`);
  families = await scrape(t, velo);
  t.is(value(families, 'velo_circuit_state', { backend: a }), 2);
  t.is(value(families, 'velo_backend_up', { backend: a }), 0);
  t.is(value(families, 'velo_backend_active_connections', { backend: b }), 0);
  t.is(value(families, 'velo_requests_total', { backend: b, method: 'other' }), 1);
});

test('health checks and reloads are counted by result; two engines keep separate registries', async (t) => {
  const backends = await startBackends(t, 2);
  const velo = await startAdminVelo(t, FAST_HEALTH, [backends[0]!.url]);
  const other = await startAdminVelo(t, NO_HEALTH, [backends[1]!.url]);
  await eventually(async () => (value(await scrape(t, velo), 'velo_health_checks_total', { result: 'success' }) ?? 0) >= 1, 3000, 'a passing probe');
  backends[0]!.setHealthy(false);
  await eventually(async () => (value(await scrape(t, velo), 'velo_health_checks_total', { result: 'failure' }) ?? 0) >= 1, 3000, 'a failing probe');
  velo.control.reloader = async () => parseConfigText(`${FAST_HEALTH}backends: [${backends[0]!.url}]\n`, undefined, { flags: { port: 0, host: '127.0.0.1', adminPort: 0 } });
  await velo.control.reload();
  velo.control.reloader = async () => parseConfigText('strategy: fastest\n');
  await t.throwsAsync(velo.control.reload());
  const families = await scrape(t, velo);
  t.is(value(families, 'velo_config_reloads_total', { result: 'success' }), 1);
  t.is(value(families, 'velo_config_reloads_total', { result: 'failure' }), 1);
  const theirs = await scrape(t, other);
  t.deepEqual(theirs.get('velo_backend_up')!.samples.map((s) => s.labels.backend), [backends[1]!.url]);
  t.is(theirs.get('velo_health_checks_total')!.samples.length, 0);
});

test('every per-backend series is labelled pool, backend (the id) and name, exactly as the admin API names it', async (t) => {
  const backends = await startBackends(t, 1);
  const url = backends[0]!.url;
  const velo = await startAdminVelo(t, `${FAST_HEALTH}backends: [{ url: "${url}", name: web-1 }]\n`);
  await eventually(async () => (value(await scrape(t, velo), 'velo_health_checks_total', { result: 'success' }) ?? 0) >= 1, 3000, 'a passing probe');
  t.is((await get(client(t), `${velo.url}/`)).status, 200);
  const families = await scrape(t, velo);
  const api = (await velo.api('GET', '/api/pools/default')).json.backends[0];
  const labels = { pool: 'default', backend: api.id, name: api.name };
  t.deepEqual(labels, { pool: 'default', backend: url, name: 'web-1' });
  t.deepEqual(
    families.get('velo_requests_total')!.samples.map((s) => s.labels),
    [{ ...labels, method: 'GET', code: '200' }],
  );
  const perBackend = [
    'velo_request_duration_seconds',
    'velo_health_checks_total',
    'velo_backend_up',
    'velo_backend_active_connections',
    'velo_backend_slow_start_percent',
    'velo_circuit_state',
    'velo_outlier_ejections_total',
    'velo_websocket_connections',
    'velo_websocket_sessions_total',
  ];
  for (const name of perBackend) {
    const samples = families.get(name)?.samples ?? [];
    t.true(samples.length > 0, `${name} has samples`);
    for (const s of samples) {
      const { le: _le, result: _result, ...rest } = s.labels;
      t.deepEqual(rest, labels, `${name} ${JSON.stringify(s.labels)}`);
    }
  }
});

test('the shipped Grafana dashboard and Prometheus config use only names and labels /metrics exposes', async (t) => {
  const backends = await startBackends(t, 1);
  const velo = await startAdminVelo(t, NO_HEALTH, backends.map((b) => b.url));
  await get(client(t), `${velo.url}/`);
  const families = await scrape(t, velo);
  const exposed = new Set([...families].flatMap(([name, f]) => (f.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((x) => name + x) : [name])));
  const labels = new Set([...families.values()].flatMap((f) => f.samples.flatMap((s) => Object.keys(s.labels))));
  const dashboard = JSON.parse(await readFile(new URL('../../examples/grafana-dashboard.json', import.meta.url), 'utf8'));
  const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((x) => x.expr));
  t.true(exprs.length >= 10);
  const used = new Set(exprs.flatMap((e) => e.match(/velo_[a-z_]+/g) ?? []));
  for (const name of used) t.true(exposed.has(name), `${name} is exposed`);
  for (const name of ['velo_requests_total', 'velo_request_duration_seconds_bucket', 'velo_backend_up', 'velo_backend_active_connections', 'velo_circuit_state']) {
    t.true(used.has(name), `the dashboard charts ${name}`);
  }
  const byOf = (e: string): string[][] => [...e.matchAll(/by \(([^)]*)\)/g)].map((m) => m[1]!.split(',').map((l) => l.trim()));
  for (const label of exprs.flatMap((e) => byOf(e).flat())) t.true(labels.has(label), `label ${label} exists`);
  const targets: Array<{ expr: string; legendFormat?: string }> = dashboard.panels.flatMap((p: { targets: unknown[] }) => p.targets);
  for (const { expr, legendFormat = '' } of targets) {
    const shown = [...legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
    // A legend label must survive every aggregation of its query, or Grafana draws it empty.
    const aggregated = /\b(sum|count|avg|min|max)\b/.test(expr);
    for (const label of shown) {
      t.true(labels.has(label), `legend label ${label} exists`);
      if (aggregated) t.true(byOf(expr).length > 0 && byOf(expr).every((by) => by.includes(label)), `${label} survives ${expr}`);
    }
    t.false(shown.includes('backend'), `a legend names a backend by {{name}}, not its URL: ${legendFormat}`);
  }
  t.true(targets.filter((x) => x.legendFormat?.includes('{{name}}')).length >= 6, 'the per-backend panels show names');
  const scrapeConfig = await readFile(new URL('../../examples/prometheus.yml', import.meta.url), 'utf8');
  t.regex(scrapeConfig, /metrics_path: \/metrics/);
  t.regex(scrapeConfig, /targets: \['127\.0\.0\.1:8407'\]/);
});
