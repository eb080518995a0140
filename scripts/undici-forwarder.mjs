// The reference for velo's speed bar: the smallest useful forwarder, node:http in front of one
// keep-alive undici Pool per origin, round robin, no health checks, no header rewriting.
// Usage: node scripts/undici-forwarder.mjs PORT ORIGIN_URL...
import http from 'node:http';
import { Pool } from 'undici';

const [port, ...origins] = process.argv.slice(2);
const pools = origins.map((o) => new Pool(o, { connections: 256 }));
let next = 0;
const server = http.createServer((req, res) => {
  const pool = pools[next++ % pools.length];
  pool
    .request({ path: req.url, method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
    .then(
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.body.pipe(res);
      },
      () => {
        res.statusCode = 502;
        res.end();
      },
    );
});
server.listen(Number(port), '127.0.0.1', () => console.log(`undici forwarder listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
