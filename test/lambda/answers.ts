import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** The JSON document `/gzip` sends compressed. */
export const GZIPPED_DOCUMENT = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });

/** The time `/events/{n}` lets pass between two events. */
export const EVENT_GAP_MS = 300;

/**
 * A loopback instance with the answers the Lambda result rules are about:
 * `/gzip` (a JSON document, gzip-encoded, with its length), `/unsized/{n}`
 * (n text bytes without a length, so only reading tells the size),
 * `/quotes/{n}` (n `"` characters: JSON doubles them), `/cookies` (two
 * `Set-Cookie` fields), `/broken` (256 KiB of a body without a length,
 * then the connection reset), `/events/{n}` (n server-sent events 300 ms
 * apart) and `/empty` (a 200 without a length that ends before its first
 * byte). It counts answers whose connection closed before they were finished.
 */
export class Answers {
  /** Answers the reader gave up on before their end. */
  abandoned = 0;
  /** When the last `/events/{n}` answer was ended (`performance.now()`). */
  eventsEndedAt = Number.POSITIVE_INFINITY;
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((req, res) => void this.#answer(req, res).catch(() => res.destroy()));
  }

  static async start(): Promise<Answers> {
    const answers = new Answers();
    await new Promise<void>((resolve) => answers.#server.listen(0, '127.0.0.1', resolve));
    return answers;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.once('close', () => {
      if (!res.writableFinished) this.abandoned++;
    });
    const [, route, arg] = /^\/([a-z]+)(?:\/(\d+))?/.exec(req.url ?? '') ?? [];
    if (route === 'gzip') {
      const body = gzipSync(GZIPPED_DOCUMENT);
      return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) }).end(body);
    }
    if (route === 'quotes') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('"'.repeat(Number(arg)));
    if (route === 'cookies') {
      return void res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] }).end('two cookies');
    }
    if (route === 'broken') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (!res.write(Buffer.alloc(256 * 1024, 'x'))) await drained(res);
      return void res.destroy();
    }
    if (route === 'events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 0; i < Number(arg) && !res.destroyed; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, EVENT_GAP_MS));
        res.write(`id: ${i}\ndata: event ${i}\n\n`);
      }
      this.eventsEndedAt = performance.now();
      return void res.end();
    }
    if (route === 'empty') return void res.writeHead(200, { 'content-type': 'text/plain', 'x-empty': 'yes', 'transfer-encoding': 'chunked' }).end();
    if (route !== 'unsized') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let left = Number(arg); left > 0 && !res.destroyed; left -= chunk.length) {
      if (!res.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await drained(res);
    }
    res.end();
  }
}

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}
