// Counts velo's control-plane messages, for docs/performance.md ("Workers: scaling and its
// limits"). Preload it into velo with workers:
//   IPC_COUNT_DIR=/tmp/ipc NODE_OPTIONS="--require $PWD/scripts/ipc-count.cjs" velo start --workers 2 ...
// In a process that forks cluster workers (the primary), it appends one JSON line per second to
// $IPC_COUNT_DIR/ipc-PID.jsonl: messages received from and sent to workers by type (velo's `t`),
// their serialized bytes (v8.serialize, as `serialization: 'advanced'` sends them) and the
// passive verdicts carried (one per proxied attempt). Any other process it is loaded into
// (workers, the bench itself) stays untouched: counting starts at the first cluster.fork().
'use strict';
const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const dir = process.env.IPC_COUNT_DIR;
if (dir && cluster.isPrimary) {
  let counts;
  const reset = () => (counts = { in: {}, out: {}, bytesIn: 0, bytesOut: 0, verdicts: 0 });
  reset();
  const size = (m) => { try { return v8.serialize(m).length; } catch { return 0; } };
  const fork = cluster.fork;
  let started = false;
  cluster.fork = function (...args) {
    if (!started) {
      started = true;
      const file = path.join(dir, `ipc-${process.pid}.jsonl`);
      fs.mkdirSync(dir, { recursive: true });
      cluster.on('message', (_worker, m) => {
        if (m?.velo !== 1) return;
        counts.in[m.t] = (counts.in[m.t] ?? 0) + 1;
        counts.bytesIn += size(m);
        if (m.t === 'verdicts') counts.verdicts += m.verdicts.length;
      });
      const send = cluster.Worker.prototype.send;
      cluster.Worker.prototype.send = function (m, ...rest) {
        if (m?.velo === 1) {
          counts.out[m.t] = (counts.out[m.t] ?? 0) + 1;
          counts.bytesOut += size(m);
        }
        return send.call(this, m, ...rest);
      };
      setInterval(() => {
        fs.appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...counts })}\n`);
        reset();
      }, 1000).unref();
    }
    return fork.apply(this, args);
  };
}
