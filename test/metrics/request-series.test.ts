import test from 'ava';
import { Registry, type Metric } from 'prom-client';
import { RequestCounter, RequestHistogram } from '../../src/metrics/request-series.js';

test('the histogram cumulates buckets, adds +Inf, sum and count, per label set', async (t) => {
  const h = new RequestHistogram('x_seconds', 'help', ['pool'], [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 2]) h.observe(['a'], v);
  h.observe(['b'], 0.01);
  const registry = new Registry();
  registry.registerMetric(h as unknown as Metric);
  const text = await registry.metrics();
  t.true(text.includes('# TYPE x_seconds histogram'));
  for (const line of [
    'x_seconds_bucket{pool="a",le="0.1"} 2',
    'x_seconds_bucket{pool="a",le="1"} 3',
    'x_seconds_bucket{pool="a",le="+Inf"} 4',
    'x_seconds_sum{pool="a"} 2.65',
    'x_seconds_count{pool="a"} 4',
    'x_seconds_bucket{pool="b",le="+Inf"} 1',
  ]) {
    t.true(text.includes(line), `${line} in\n${text}`);
  }
});

test('the counter counts per label values', async (t) => {
  const c = new RequestCounter('y_total', 'help', ['code', 'method']);
  c.inc(['200', 'GET']);
  c.inc(['200', 'GET']);
  c.inc(['502', 'GET']);
  const registry = new Registry();
  registry.registerMetric(c as unknown as Metric);
  const text = await registry.metrics();
  t.true(text.includes('y_total{code="200",method="GET"} 2'));
  t.true(text.includes('y_total{code="502",method="GET"} 1'));
});
