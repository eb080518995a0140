// For the record in docs/performance.md: the same minimal round-robin forwarder as
// undici-forwarder.mjs, on http-proxy-3's web path with a keep-alive agent (its fastest setup).
// Usage: node scripts/http-proxy-3-forwarder.mjs PORT ORIGIN_URL...
import http from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const [port, ...origins] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 60_000 });
const proxy = createProxyServer({ agent });
proxy.on('error', (_err, _req, res) => {
  if (res && !res.headersSent && typeof res.writeHead === 'function') {
    res.writeHead(502);
    res.end();
  }
});
let next = 0;
http
  .createServer((req, res) => proxy.web(req, res, { target: origins[next++ % origins.length] }))
  .listen(Number(port), '127.0.0.1', () => console.log(`http-proxy-3 forwarder listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
