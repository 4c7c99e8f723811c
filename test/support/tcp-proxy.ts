import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server, to cut connections the way a
 * network failure would.
 */
export class TcpProxy {
  #server: Server;
  #sockets = new Set<Socket>();
  #refusing = false;
  #cutResponses = false;
  #stalled = false;
  /** Connections accepted so far. */
  accepted = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => this.#accept(client));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** Destroys every open connection (both sides see a reset). */
  dropAll(): number {
    const n = this.#sockets.size;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return n;
  }

  /** New connections are closed at once while refusing. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /**
   * While on, requests reach the server but the connection is cut as soon as
   * the answer starts: the client cannot know whether its request was applied.
   */
  cutResponses(on: boolean): void {
    this.#cutResponses = on;
  }

  /**
   * While on, connections stay open but no byte gets through either way, like
   * a hung middlebox: only timeouts can tell.
   */
  stall(on: boolean): void {
    this.#stalled = on;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    if (this.#refusing) return void client.destroy();
    const upstream = connect(this.target.port, this.target.host);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.#sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.#sockets.delete(a);
        b.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (!this.#stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#stalled) return;
      if (this.#cutResponses) {
        client.destroy();
        upstream.destroy();
      } else {
        client.write(chunk);
      }
    });
  }
}
