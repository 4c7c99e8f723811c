import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FakeRelay } from '../../src/testing/index.js';

/** A `FakeRelay` served over HTTP on a loopback port, for gateways running as processes. */
export class FakeRelayServer {
  readonly relay: FakeRelay;
  #server: Server;
  #sockets = new Set<Socket>();

  private constructor(token: string) {
    this.relay = new FakeRelay({ token });
    this.#server = createServer((req, res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      void this.relay
        .handle(new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers }))
        .then(async (response) => {
          res.writeHead(response.status, Object.fromEntries(response.headers));
          res.end(Buffer.from(await response.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(token: string): Promise<FakeRelayServer> {
    const server = new FakeRelayServer(token);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Stops like a killed process: connections reset, the port refuses. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
