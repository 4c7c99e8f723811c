import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP hop that counts the HTTP/1.1 requests going through it by
 * path, from their request lines: what another process asks of
 * etcd (or of the relay) without touching that process.
 */
export class RequestCounter {
  readonly #counts = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  port = 0;

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        this.#sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.#sockets.delete(a);
          b.destroy();
        });
      }
      let tail = '';
      client.on('data', (chunk: Buffer) => {
        // A request line follows the previous request's body on the same line (bodies end without a newline).
        const lines = (tail + chunk.toString('latin1')).split('\n');
        tail = lines.pop()!.slice(-2_048);
        for (const line of lines) {
          const path = /(?:GET|POST) (\/[^\s?]*)\S* HTTP\/1\.1\r$/.exec(line)?.[1];
          if (path) this.#counts.set(path, (this.#counts.get(path) ?? 0) + 1);
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Requests whose path starts with `prefix`. */
  count(prefix: string): number {
    let total = 0;
    for (const [path, count] of this.#counts) if (path.startsWith(prefix)) total += count;
    return total;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
