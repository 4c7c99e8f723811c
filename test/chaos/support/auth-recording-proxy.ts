import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the proxy to etcd. */
export interface RecordedCall {
  path: string;
  status: number;
  /** The `Authorization` header the client sent, if any. */
  token: string | undefined;
}

/**
 * An HTTP proxy in front of one etcd (plain HTTP) that records every call:
 * its path, answer status and auth token, and the token of every successful
 * login. Bodies stream through (watches stay open), so clients behave as
 * they would against etcd itself.
 */
export class AuthRecordingProxy {
  readonly calls: RecordedCall[] = [];
  /** Every token etcd handed out through this proxy, in order. */
  readonly issued: string[] = [];
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #target: URL;
  #port = 0;

  constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => this.#forward(req, res));
  }

  static async start(target: string): Promise<AuthRecordingProxy> {
    const proxy = new AuthRecordingProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.#port = (proxy.#server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Successful logins so far. */
  get logins(): number {
    return this.issued.length;
  }

  /** Calls etcd refused because their token had expired (or never existed). */
  get staleTokenCalls(): number {
    return this.calls.filter((c) => c.status === 401).length;
  }

  /** Every distinct token seen, issued or sent. */
  tokens(): string[] {
    return [...new Set([...this.issued, ...this.calls.flatMap((c) => (c.token ? [c.token] : []))])];
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#agent.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const token = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    const upstream = request(
      { host: this.#target.hostname, port: this.#target.port, method: req.method, path, headers: req.headers, agent: this.#agent },
      (answer) => {
        const status = answer.statusCode ?? 0;
        this.calls.push({ path, status, token });
        res.writeHead(status, answer.headers);
        if (path !== '/v3/auth/authenticate') return void answer.pipe(res);
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const issued = (JSON.parse(body.toString() || '{}') as { token?: string }).token;
          if (status === 200 && issued) this.issued.push(issued);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
