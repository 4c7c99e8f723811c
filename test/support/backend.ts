import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the echo route saw, as JSON. */
export interface Echo {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
  bodySha256: string;
}

/**
 * A real HTTP backend on loopback. Routes: anything echoes the request as JSON;
 * `/status/{code}` answers that status (`?chunked=1`: without a length); `/slow/{ms}` waits first; `/late/{ms}` sends headers, then its body after ms; `/stall/x` sends half its body and stops; `/sse/{n}`
 * sends n server-sent events 20 ms apart; `/bytes/{n}` streams n zero bytes.
 * It counts requests by `x-request-id` so tests can prove none ran twice.
 */
export class Backend {
  readonly name: string;
  readonly seen = new Map<string, number>();
  requests = 0;
  /** Requests whose connection closed before their answer was finished (the proxy gave up on them). */
  abandoned = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #port = 0;

  private constructor(name: string) {
    this.name = name;
    this.#server = createServer((req, res) => void this.#handle(req, res).catch(() => res.destroy()));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(name: string, port = 0): Promise<Backend> {
    const backend = new Backend(name);
    await backend.#listen(port);
    return backend;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Dies like a killed process: every connection reset, the port refuses from now on. */
  kill(): void {
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    await this.#listen(this.#port);
  }

  close(): Promise<void> {
    this.kill();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    res.once('close', () => {
      if (!res.writableFinished) this.abandoned++;
    });
    const id = req.headers['x-request-id'];
    if (typeof id === 'string') this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
    const [, route, arg] = /^\/([a-z]+)\/([^/?]+)/.exec(req.url ?? '') ?? [];
    if (route === 'status') {
      res.writeHead(Number(arg), { 'x-backend': this.name });
      // `?chunked=1` sends the body in two writes without a length, so a proxy must stream it.
      if (req.url?.includes('chunked=1')) res.write(`status ${arg} `);
      return void res.end(`from ${this.name}`);
    }
    if (route === 'slow') await new Promise((r) => setTimeout(r, Number(arg)));
    if (route === 'late') return this.#late(res, Number(arg));
    if (route === 'stall') {
      // Announces 10 bytes, sends 5, and never the rest.
      res.writeHead(200, { 'content-length': '10' });
      return void res.write('stall');
    }
    if (route === 'sse') return this.#sse(res, Number(arg));
    if (route === 'bytes') return this.#bytes(res, Number(arg));
    const hash = createHash('sha256');
    let bodyBytes = 0;
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      bodyBytes += (chunk as Buffer).length;
    }
    const echo: Echo = { backend: this.name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes, bodySha256: hash.digest('hex') };
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': this.name, connection: 'keep-alive, x-secret-hop', 'x-secret-hop': 'must not pass', 'keep-alive': 'timeout=5' });
    res.end(JSON.stringify(echo));
  }

  /** Headers at once, the 5-byte body (with its length announced) only after `ms`. */
  async #late(res: ServerResponse, ms: number): Promise<void> {
    res.writeHead(200, { 'content-length': '5', 'x-backend': this.name });
    res.flushHeaders();
    await new Promise((r) => setTimeout(r, ms));
    res.end('late!');
  }

  async #sse(res: ServerResponse, count: number): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < count && !res.destroyed; i++) {
      res.write(`id: ${i}\ndata: event ${i} from ${this.name}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    res.end();
  }

  async #bytes(res: ServerResponse, total: number): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const chunk = Buffer.alloc(64 * 1024);
    for (let sent = 0; sent < total && !res.destroyed; ) {
      const piece = Math.min(chunk.length, total - sent);
      sent += piece;
      if (!res.write(piece === chunk.length ? chunk : chunk.subarray(0, piece))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }
}

/** Backends a test file starts, closed together at the end. */
export class Backends {
  readonly #started: Backend[] = [];

  async start(name: string): Promise<Backend> {
    const backend = await Backend.start(name);
    this.#started.push(backend);
    return backend;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#started.splice(0).map((b) => b.close()));
  }
}
