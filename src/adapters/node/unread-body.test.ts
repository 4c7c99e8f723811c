import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { errorParts, type ProxyHandler } from '../../gateway/index.js';
import { nodeProxyListener } from './node-proxy.js';
import { DISCARD_BYTES } from './unread-body.js';

/** A proxy that refuses every request before asking for its body, as one with no instance of the service does. */
const refuse: ProxyHandler = (_request, responder) => responder.answer({ kind: 'error', error: errorParts('NO_INSTANCES', 'no instance of x') });

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

async function listen(proxy = refuse): Promise<number> {
  server = createServer(nodeProxyListener(proxy));
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
  return (server.address() as AddressInfo).port;
}

/** A raw connection: what came back so far, and whether the gateway closed it. */
class Wire {
  text = '';
  closed = false;
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1').on('data', (s: string) => (this.text += s));
    this.socket.on('close', () => (this.closed = true)).on('error', () => undefined);
  }

  async until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  }

  answers(): number {
    return this.text.split('HTTP/1.1 ').length - 1;
  }
}

const POST = 'POST /svc/x/a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n';
const CHUNKED = 'POST /svc/x/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
const NEXT = 'GET /svc/x/b HTTP/1.1\r\nHost: h\r\n\r\n';

/** `head` answered (503, the connection not closing), then `rest` of its body and a second request: that one is answered too. */
async function expectKept(port: number, head: string, rest: string): Promise<void> {
  const wire = new Wire(port);
  wire.socket.write(head);
  await wire.until(() => wire.answers() === 1);
  expect(wire.text).toMatch(/^HTTP\/1\.1 503 /);
  expect(wire.text).not.toMatch(/connection: close/i);
  wire.socket.write(rest);
  wire.socket.write(NEXT);
  await wire.until(() => wire.answers() === 2);
  expect(wire.closed).toBe(false);
  wire.socket.destroy();
}

/** `head` answered with 503 and `Connection: close`, and the connection closed. */
async function expectClosed(port: number, head: string): Promise<void> {
  const wire = new Wire(port);
  wire.socket.write(head);
  await wire.until(() => wire.closed);
  expect(wire.text).toMatch(/^HTTP\/1\.1 503 [^]*connection: close/i);
}

describe('an HTTP/1.1 request answered before its body came (unread-body.ts)', () => {
  it('a small body still on its way is read and dropped: the client sees the answer, and the connection serves the next request', async () => {
    await expectKept(await listen(), POST, 'hello');
  });

  it('a chunked body is dropped the same way', async () => {
    await expectKept(await listen(), CHUNKED, '5\r\nhello\r\n0\r\n\r\n');
  });

  it('a declared body larger than the gateway drops closes the connection after the answer', async () => {
    await expectClosed(await listen(), `POST /svc/x/a HTTP/1.1\r\nHost: h\r\nContent-Length: ${DISCARD_BYTES + 1}\r\n\r\n`);
  });

  it('a chunked body that goes on past what the gateway drops closes the connection', async () => {
    const wire = new Wire(await listen());
    wire.socket.write(CHUNKED);
    await wire.until(() => wire.answers() === 1);
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 8 && !wire.closed; i++) {
      wire.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await wire.until(() => wire.closed);
    expect(wire.answers()).toBe(1);
  });

  it('a body being read whole is left to its reader, which takes the rest: the connection is kept', async () => {
    const port = await listen((request, responder) => {
      void request.readBody();
      refuse(request, responder);
    });
    await expectKept(port, POST, 'hello');
  });

  it('a body taken as a stream but never pulled is dropped like an unread one', async () => {
    const port = await listen((request, responder) => {
      request.streamBody();
      refuse(request, responder);
    });
    await expectKept(port, POST, 'hello');
  });

  it('a body an attempt began to stream closes the connection after the answer', async () => {
    const port = await listen((request, responder) => {
      void request.streamBody()!.getReader().read();
      setTimeout(() => refuse(request, responder), 20);
    });
    await expectClosed(port, POST);
  });
});
