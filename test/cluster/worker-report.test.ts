/**
 * Worker reports are deltas: added up by the control plane they count every request exactly
 * once, gauges are the sum of each live worker's latest value, and a worker that exits takes
 * its gauges (not its counts) with it.
 */
import test from 'ava';
import { ReportAggregator, WorkerReporter } from '../../src/cluster/worker-report.js';
import { parseConfigText } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { Logger } from '../../src/log/logger.js';
import { RequestSeries } from '../../src/metrics/prometheus.js';

const YAML = 'health_check: false\nbackends: [http://127.0.0.1:1]\n';
const engine = (role?: 'worker') => new Engine({ config: parseConfigText(YAML, undefined), logger: new Logger('silent'), sampleEveryMs: 0, clock: () => 1, ...(role ? { role } : {}) });

test('two workers\' deltas add up exactly; gauges follow the latest report; an exited worker\'s gauges go', (t) => {
  const primary = engine();
  const agg = new ReportAggregator(() => primary.pools, primary.totals, () => undefined, () => 1);
  const workers = [engine('worker'), engine('worker')];
  const reporters = workers.map((w) => new WorkerReporter(() => w.pools, w.totals, () => 0, new RequestSeries()));
  for (const [i, w] of workers.entries()) {
    const u = w.pools[0]!.upstreams[0]!;
    for (let n = 0; n < 3 + i; n++) {
      w.totals.requests += 1;
      w.totals.success += 1;
      u.recordAttempt(200, 5, false);
    }
    u.inFlight = 2 + i;
    w.totals.inFlight = 2 + i;
    agg.add(i + 1, reporters[i]!.build());
  }
  // Nothing new: a second report adds nothing.
  for (const [i, r] of reporters.entries()) agg.add(i + 1, r.build());
  const u = primary.pools[0]!.upstreams[0]!;
  t.is(primary.totals.requests, 7);
  t.is(u.counters.requests, 7);
  t.is(u.counters.status2xx, 7);
  t.is(u.window.summarize(10_000).count, 7, 'every latency sample arrived once');
  t.is(u.inFlight, 5);
  t.is(primary.totals.inFlight, 5);
  agg.remove(2);
  t.is(u.inFlight, 2);
  t.is(primary.totals.requests, 7, 'its requests stay counted');
});
