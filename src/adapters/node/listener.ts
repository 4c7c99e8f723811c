import { createServer as createHttp1Server, type RequestListener, type Server as Http1Server } from 'node:http';
import { createSecureServer, createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

/** What a client sends first on an HTTP/2 connection with prior knowledge (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** How long a connection may stay silent before its first bytes: Node's own header timeout. */
const SNIFF_TIMEOUT_MS = 60_000;

/** Where each protocol's requests go: Node's HTTP/1.1 request and response, or its HTTP/2 compatibility ones. */
export interface ProtocolListeners {
  http1: RequestListener;
  http2: (request: Http2ServerRequest, response: Http2ServerResponse) => void;
}

/** A certificate and key in PEM: the listener speaks TLS, offering `h2` and `http/1.1` by ALPN. */
export interface ListenerTls {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The gateway's port: HTTP/1.1 and HTTP/2 on one listener. In cleartext the
 * first bytes of each connection say which (HTTP/2's preface, prior
 * knowledge: Node's HTTP/2 server cannot fall back to HTTP/1.1 by itself);
 * with TLS, ALPN says. Each protocol's server is Node's own, so limits and
 * timeouts are Node's for each.
 *
 * @example
 * const listener = await GatewayListener.listen({ http1, http2 }, 8787, '0.0.0.0');
 * await listener.close(10_000);
 */
export class GatewayListener {
  /** The server that accepts connections. */
  readonly #outer: NetServer;
  /** Emits HTTP/1.1's `request` and `upgrade`: a server of its own in cleartext, the TLS server itself with TLS. */
  readonly http1: Http1Server | NetServer;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<Http2Session>();
  #draining = false;

  private constructor(outer: NetServer, http1: Http1Server | NetServer, http2: NetServer) {
    this.#outer = outer;
    this.http1 = http1;
    outer.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    http2.on('session', (session: Http2Session) => {
      if (this.#draining) session.close();
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
    });
  }

  /** Listens on `port` (0: any free one). */
  static listen(listeners: ProtocolListeners, port: number, host: string | undefined, tls?: ListenerTls): Promise<GatewayListener> {
    const listener = tls ? GatewayListener.#secure(listeners, tls) : GatewayListener.#cleartext(listeners);
    const outer = listener.#outer;
    return new Promise((resolve, reject) => {
      outer.once('error', reject);
      outer.listen(port, host, () => {
        outer.off('error', reject);
        resolve(listener);
      });
    });
  }

  static #cleartext(listeners: ProtocolListeners): GatewayListener {
    const http1 = createHttp1Server(listeners.http1);
    const http2 = createHttp2Server(listeners.http2);
    // Node starts tracking an HTTP/1.1 server's connections (idle ones, header and request timeouts) when it
    // listens; this one never listens itself, as the sniffing server hands it its connections.
    http1.emit('listening');
    // No Nagle delay on client sockets, as Node's HTTP server sets for the connections it accepts itself.
    const outer = createNetServer({ noDelay: true }, (socket) => sniff(socket, http1, http2));
    return new GatewayListener(outer, http1, http2);
  }

  static #secure(listeners: ProtocolListeners, tls: ListenerTls): GatewayListener {
    const server = createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] });
    // With TLS one server takes both: the request says which protocol it came over.
    server.on('request', (request: Http2ServerRequest, response: Http2ServerResponse) => {
      if (request.httpVersionMajor === 2) listeners.http2(request, response);
      else listeners.http1(request as never, response as never);
    });
    return new GatewayListener(server, server, server);
  }

  address(): AddressInfo {
    return this.#outer.address() as AddressInfo;
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `drainMs`,
   * then closes every connection. HTTP/1.1 connections close as they turn
   * idle; HTTP/2 sessions are told to go away (GOAWAY) and close once their
   * streams are done.
   */
  async close(drainMs: number): Promise<void> {
    this.#draining = true;
    const drained = new Promise<void>((resolve) => this.#outer.close(() => resolve()));
    const http1 = this.http1 as Http1Server;
    for (const session of this.#sessions) session.close();
    // A keep-alive connection turns idle when its last request ends; close it then, not at its timeout.
    const sweeper = setInterval(() => http1.closeIdleConnections(), 50);
    http1.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    clearInterval(sweeper);
    for (const socket of this.#sockets) socket.destroy();
    if (this.#outer !== this.http1) http1.close();
  }
}

/**
 * Reads a connection's first bytes until they tell HTTP/2's preface from
 * anything else (at most 24 bytes; an HTTP/1.1 request differs by its
 * second), then hands the connection, bytes put back, to that protocol's
 * server. Whatever is not the preface is HTTP/1.1's to answer or refuse.
 */
function sniff(socket: Socket, http1: Http1Server, http2: Http2Server): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const n = Math.min(head.length, PREFACE.length);
    const preface = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (preface && n < PREFACE.length) return;
    socket.off('data', onData).off('end', drop).off('error', drop).off('timeout', drop).setTimeout(0);
    socket.pause();
    socket.unshift(head);
    if (preface) {
      http2.emit('connection', socket);
    } else {
      http1.emit('connection', socket);
      // Node's HTTP/1.1 server reads a socket handed to it only once it flows again.
      socket.resume();
    }
  };
  // Gone, broken or silent before it said which protocol: nothing to answer.
  const drop = (): void => void socket.destroy();
  socket.on('data', onData).once('end', drop).once('error', drop).once('timeout', drop).setTimeout(SNIFF_TIMEOUT_MS);
}
