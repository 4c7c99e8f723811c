import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One request as a recording backend received it. */
export interface Received {
  url: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * An HTTP backend that keeps every request it gets (URL and headers), and
 * answers with hop-by-hop fields of its own that must not reach the client.
 * It may listen on any loopback address (127.0.0.2 for one the policy denies).
 */
export class Recorder {
  readonly name: string;
  readonly received: Received[] = [];
  readonly #server: Server;
  #port = 0;
  #host = '127.0.0.1';

  private constructor(name: string) {
    this.name = name;
    this.#server = createServer((req, res) => {
      this.received.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
      drain(req).then(
        () => {
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-secret-hop', 'x-secret-hop': 'must not pass', 'proxy-authenticate': 'Basic' });
          res.end(`from ${this.name}`);
        },
        () => res.destroy(),
      );
    });
  }

  static async start(name: string, host = '127.0.0.1'): Promise<Recorder> {
    const recorder = new Recorder(name);
    recorder.#host = host;
    await new Promise<void>((resolve, reject) => {
      recorder.#server.once('error', reject);
      recorder.#server.listen(0, host, () => resolve());
    });
    recorder.#port = (recorder.#server.address() as AddressInfo).port;
    return recorder;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

/** What came back on the socket: a response, or the connection closed (or timed out) before one. */
export type Exchange =
  | { kind: 'response'; status: number; headers: Map<string, string[]>; body: Buffer }
  | { kind: 'closed'; bytes: number }
  | { kind: 'timeout' };

/**
 * Writes `bytes` to a fresh connection as they are (no client library to
 * normalize or refuse anything) and reads one response: interim 1xx answers
 * skipped, the body framed by Content-Length, chunked coding or the close.
 */
export function exchange(host: string, port: number, bytes: Buffer, options: { head?: boolean; timeoutMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (result: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Close our side politely and let the server finish with it: a reset mid-exchange is its own fault injection.
      socket.end();
      setTimeout(() => socket.destroy(), 2_000).unref();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs ?? 10_000);
    const tryParse = (ended: boolean): void => {
      const parsed = parseResponse(data, options.head ?? false, ended);
      if (parsed) finish(parsed);
      else if (ended) finish({ kind: 'closed', bytes: data.length });
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('error', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    socket.write(bytes);
  });
}

function parseResponse(data: Buffer, head: boolean, ended: boolean): Exchange | undefined {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end < 0) return undefined;
    const lines = data.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? NaN);
    if (Number.isNaN(status)) return { kind: 'closed', bytes: data.length };
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    if (head || status === 204 || status === 304) return { kind: 'response', status, headers, body: Buffer.alloc(0) };
    const length = headers.get('content-length')?.[0];
    if (headers.get('transfer-encoding')?.some((v) => /chunked/i.test(v))) {
      const body = dechunk(data.subarray(bodyStart));
      return body ? { kind: 'response', status, headers, body } : undefined;
    }
    if (length !== undefined) {
      const n = Number(length);
      return data.length - bodyStart >= n ? { kind: 'response', status, headers, body: data.subarray(bodyStart, bodyStart + n) } : undefined;
    }
    return ended ? { kind: 'response', status, headers, body: data.subarray(bodyStart) } : undefined;
  }
}

function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const line = data.indexOf('\r\n', at);
    if (line < 0) return undefined;
    const size = parseInt(data.subarray(at, line).toString('latin1'), 16);
    if (Number.isNaN(size)) return Buffer.alloc(0);
    if (size === 0) return data.indexOf('\r\n\r\n', line) >= 0 ? Buffer.concat(parts) : undefined;
    if (data.length < line + 2 + size + 2) return undefined;
    parts.push(data.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

/** Resident memory of a Linux process, in bytes (from /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}
