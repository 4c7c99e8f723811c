import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** A close as one end of a WebSocket saw it. */
export interface SeenClose {
  code: number;
  reason: string;
}

/**
 * A WebSocket instance on loopback, with `ws` (a server nobody here wrote):
 * echoes text as `echo:{text}`, answers `headers` with the handshake it
 * saw, closes with 4001 on `close-me`, refuses handshakes to `/deny…` (403), goes silent on `quiet`, and records
 * the closes its clients send.
 */
export class WsBackend {
  readonly handshakes: { url: string; headers: IncomingHttpHeaders }[] = [];
  readonly closes: SeenClose[] = [];
  readonly sockets = new Set<WebSocket>();

  private constructor(
    readonly server: Server,
    readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<WsBackend> {
    const server = createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required'));
    // A handshake to /deny… is refused with 403, as an instance may.
    const wss = new WebSocketServer({ server, verifyClient: (info, done) => done(!info.req.url?.startsWith('/deny'), 403) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const backend = new WsBackend(server, wss, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    wss.on('connection', (socket, request) => {
      backend.sockets.add(socket);
      backend.handshakes.push({ url: request.url ?? '', headers: request.headers });
      socket.on('message', (data, binary) => {
        if (binary) return socket.send(data, { binary: true });
        const text = data.toString();
        if (text === 'headers') socket.send(JSON.stringify({ url: request.url, headers: request.headers }));
        else if (text === 'close-me') socket.close(4001, 'server says bye');
        else if (text !== 'quiet') socket.send(`echo:${text}`);
      });
      socket.on('close', (code, reason) => {
        backend.sockets.delete(socket);
        backend.closes.push({ code, reason: reason.toString() });
      });
    });
    return backend;
  }

  /** Kills every connection without a close frame, and stops listening: an instance that died. */
  kill(): void {
    for (const socket of this.sockets) socket.terminate();
    this.server.close();
    this.server.closeAllConnections();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A handshake that must not be upgraded: the status and JSON body it got instead. */
export function refusedHandshake(url: string): Promise<{ status: number; body: { error?: { code: string } }; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: /json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : {}, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
