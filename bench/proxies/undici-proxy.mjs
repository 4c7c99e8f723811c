// The least a Node proxy can do per request with the parts etcd-edge is built
// on: Node's HTTP server and undici's `dispatch` over one pool to UPSTREAM,
// hop-by-hop fields dropped and etcd-edge's forwarding fields added, small
// answers read whole, larger ones streamed. No discovery, selection, retries,
// timeouts or metrics: the gap between this and etcd-edge is what those cost.
import http from 'node:http';
import { Pool } from 'undici';

const port = Number(process.env.PORT);
// Exit on SIGTERM so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
const pool = new Pool(process.env.UPSTREAM, { connections: 256, bodyTimeout: 0 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'host']);
const WHOLE_BYTES = 64 * 1024;

http.createServer((req, res) => {
  const raw = req.rawHeaders;
  const headers = [];
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'host') host = raw[i + 1];
    if (!HOP_BY_HOP.has(name)) headers.push(name, raw[i + 1]);
  }
  const ip = req.socket.remoteAddress;
  headers.push('x-forwarded-for', ip, 'x-forwarded-proto', 'http', 'x-forwarded-host', host, 'forwarded', `for=${ip};host=${host};proto=http`, 'via', '1.1 undici-proxy');
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.dispatch({ path: req.url, method: req.method, headers, body, headersTimeout: 0 }, new Answer(res));
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));

/** Relays one answer to the client; the client going away aborts it. */
class Answer {
  constructor(res) {
    this.res = res;
    this.chunks = undefined;
  }

  onRequestStart(controller) {
    this.res.once('close', () => {
      if (!this.res.writableFinished) controller.abort(new Error('client gone'));
    });
  }

  onResponseStart(controller, status, parsed) {
    const fields = [];
    for (const name in parsed) {
      if (HOP_BY_HOP.has(name)) continue;
      const value = parsed[name];
      if (typeof value === 'string') fields.push(name, value);
      else for (const v of value) fields.push(name, v);
    }
    fields.push('via', '1.1 undici-proxy');
    this.res.writeHead(status, fields);
    if (Number(parsed['content-length'] ?? NaN) <= WHOLE_BYTES) this.chunks = [];
    else this.res.on('drain', () => controller.resume());
  }

  onResponseData(controller, chunk) {
    if (this.chunks) this.chunks.push(chunk);
    else if (!this.res.write(chunk)) controller.pause();
  }

  onResponseEnd() {
    const { chunks } = this;
    this.res.end(chunks ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) : undefined);
  }

  onResponseError(_controller, _error) {
    if (this.res.destroyed) return;
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end();
  }
}
