import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AttemptCancel, discardBody, sendAwaiting, UpstreamError, type UpstreamRequest } from '../../gateway/index.js';
import { UndiciUpstream } from './undici-upstream.js';

let server: Server;
let origin: string;
/** What the instance does with each request, by path. */
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
/** Connections the instance saw close, by path of the request on them. */
const closed: string[] = [];
const upstream = new UndiciUpstream({ connectTimeoutMs: 1_000, bufferResponseBytes: 1024 });

beforeAll(async () => {
  server = createServer((req, res) => {
    req.socket.once('close', () => closed.push(req.url ?? ''));
    (routes.get(req.url ?? '') ?? ((_, r) => r.writeHead(404).end()))(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  routes.clear();
  closed.length = 0;
});

afterAll(async () => {
  await upstream.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const request = (path: string, extra: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  origin,
  path,
  method: 'GET',
  headers: ['x-probe', 'yes'],
  body: null,
  cancel: new AttemptCancel(),
  ...extra,
});

async function text(body: ReadableStream<Uint8Array> | Uint8Array | null): Promise<string> {
  if (body === null) return '';
  return body instanceof Uint8Array ? Buffer.from(body).toString() : new Response(body).text();
}

describe('UndiciUpstream', () => {
  it('reads a small answer whole into one buffer, with its fields as a flat list', async () => {
    routes.set('/small', (req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'text/plain', 'content-length': '5', 'x-saw': String(req.headers['x-probe']) }).end('hello');
    });
    let headersSeen = 0;
    const response = await sendAwaiting(upstream, request('/small'), () => headersSeen++);
    expect(response.status).toBe(201);
    expect(response.body).toBeInstanceOf(Uint8Array);
    expect(await text(response.body)).toBe('hello');
    expect(headersSeen).toBe(1);
    const fields = response.headers;
    expect(fields.filter((_, i) => i % 2 === 0 && fields[i] === 'set-cookie').length).toBe(2);
    expect(fields[fields.indexOf('x-saw') + 1]).toBe('yes');
  });

  it('streams an answer larger than the buffer limit, and skips interim 1xx answers', async () => {
    const big = 'x'.repeat(200_000);
    routes.set('/big', (_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.writeHead(200, { 'content-length': String(big.length) }).end(big);
    });
    const response = await sendAwaiting(upstream, request('/big'));
    expect(response.status).toBe(200);
    expect(response.body).toBeInstanceOf(ReadableStream);
    expect(await text(response.body)).toBe(big);
  });

  it('classifies a refused connection as connect (nothing was sent)', async () => {
    const error = await sendAwaiting(upstream, request('/x', { origin: 'http://127.0.0.1:1' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).failure).toBe('connect');
  });

  it('settles at once when cancelled before the answer, and closes the connection to the instance', async () => {
    let arrived = false;
    // The instance never answers: only the cancel can settle the attempt.
    routes.set('/hang', () => (arrived = true));
    const cancel = new AttemptCancel();
    const pending = sendAwaiting(upstream, request('/hang', { cancel }));
    await until(() => arrived);
    cancel.cancel('timeout');
    const error = await pending.catch((e: unknown) => e);
    expect((error as UpstreamError).failure).toBe('failed');
    await until(() => closed.includes('/hang'));
  });

  it('stops reading from the instance when a streamed answer is dropped', async () => {
    routes.set('/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: x\n\n'), 5);
      res.on('close', () => clearInterval(timer));
    });
    const response = await sendAwaiting(upstream, request('/endless'));
    expect(response.body).toBeInstanceOf(ReadableStream);
    discardBody(response.body);
    await until(() => closed.includes('/endless'));
  });

  it('fails with failed when the instance breaks off a small answer half-way', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part', () => res.destroy());
    });
    const error = await sendAwaiting(upstream, request('/cut')).catch((e: unknown) => e);
    expect((error as UpstreamError).failure).toBe('failed');
  });
});

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
