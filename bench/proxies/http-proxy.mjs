// node-http-proxy forwarding everything to UPSTREAM through a keep-alive
// agent (without one it opens a connection per request).
import http from 'node:http';
import httpProxy from 'http-proxy';

const port = Number(process.env.PORT);
// Exit on SIGTERM so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: process.env.UPSTREAM, agent });
// A client that hangs up mid-response is normal traffic, not a reason to exit.
proxy.on('error', (_error, _req, res) => {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) res.destroy();
  else res.writeHead(502).end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
