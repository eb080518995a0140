// Where a Node process's latency tail comes from, for docs/performance.md: preload it with
//   LOOP_PROBE_DIR=/tmp/probe NODE_OPTIONS="--require $PWD/scripts/loop-probe.cjs" ...
// and every process it is loaded into appends one JSON line per 5 s to
// $LOOP_PROBE_DIR/probe-PID.jsonl: event-loop delay (monitorEventLoopDelay, 1 ms resolution:
// p50/p99/max in ms, i.e. how long a ready callback waited), and GC pauses by kind (count,
// total and longest ms). Compare a velo run with the undici forwarder's under the same wrk load.
'use strict';
const { monitorEventLoopDelay, PerformanceObserver, constants } = require('node:perf_hooks');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.LOOP_PROBE_DIR;
if (dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `probe-${process.pid}.jsonl`);
  const who = process.argv.slice(1, 3).map((a) => path.basename(a)).join(' ');
  const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
  let gc = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = kinds[e.detail?.kind ?? e.kind] ?? 'other';
      const g = (gc[k] ??= { n: 0, ms: 0, maxMs: 0 });
      g.n += 1;
      g.ms += e.duration;
      g.maxMs = Math.max(g.maxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  setInterval(() => {
    const round = (g) => ({ n: g.n, ms: Math.round(g.ms * 100) / 100, maxMs: Math.round(g.maxMs * 100) / 100 });
    fs.appendFileSync(file, `${JSON.stringify({ at: Date.now(), who, eld: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }, gc: Object.fromEntries(Object.entries(gc).map(([k, g]) => [k, round(g)])) })}\n`);
    h.reset();
    gc = {};
  }, 5000).unref();
}
