import { ServerResponse, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorParts, type FieldList, type GatewayConfig, type GatewayMetrics, type Outcome, type ProxyHandler } from '../../gateway/index.js';
import { inboundOf, NodeExchange, writeError } from './node-proxy.js';
import { Relay, UpgradedSocket } from './websocket-relay.js';

/**
 * WebSockets on Node's server: its `upgrade` event for `/svc/…` goes through
 * the proxy like any request (`Inbound.upgrade`: lookup, pick, address
 * policy, ejection, deadline), and an instance's 101 is relayed byte for
 * byte (websocket-relay.ts). Other upgrades (`h2c`) and other paths are
 * served as plain requests, as they were before the server listened for
 * upgrades. At most `ETCD_EDGE_WS_MAX_CONNECTIONS` are relayed or in their
 * handshake at once; `close` sends every client 1001 on shutdown.
 *
 * @example
 * const webSockets = new WebSocketRelays(gateway.proxy, listener, config.websocket, gateway.metrics);
 * server.on('upgrade', webSockets.listener);
 */
export class WebSocketRelays {
  readonly #proxy: ProxyHandler;
  readonly #plain: RequestListener;
  readonly #limits: GatewayConfig['websocket'];
  readonly #metrics: GatewayMetrics;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #relays = new Set<Relay>();
  #handshakes = 0;
  #closing = false;

  constructor(proxy: ProxyHandler, plain: RequestListener, limits: GatewayConfig['websocket'], metrics: GatewayMetrics, onError?: (error: unknown) => void) {
    this.#proxy = proxy;
    this.#plain = plain;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#onError = onError;
  }

  /** Connections relayed now. */
  get open(): number {
    return this.#relays.size;
  }

  /** Node's `upgrade` event. */
  readonly listener = (incoming: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node took its own error listener off the socket at the upgrade: a client reset must not take the process down.
    socket.on('error', () => socket.destroy());
    if (!/^\s*websocket\s*$/i.test(incoming.headers.upgrade ?? '') || !incoming.url?.startsWith('/svc/')) return this.#servePlain(incoming, socket, head);
    const outgoing = responseOver(incoming, socket);
    if (this.#closing || this.#relays.size + this.#handshakes >= this.#limits.maxConnections) {
      this.#metrics.upgrade('limited');
      return writeError(outgoing, errorParts('TOO_MANY_WEBSOCKETS', 'this gateway relays as many WebSocket connections as it may; try again shortly', { retryAfter: 1 }));
    }
    const exchange = inboundOf(incoming, outgoing, this.#onError, WebSocketExchange);
    if (typeof exchange === 'string') return writeError(outgoing, errorParts('BAD_REQUEST', exchange));
    this.#handshakes++;
    (exchange as WebSocketExchange).begin(this, socket, head);
    try {
      this.#proxy(exchange, exchange);
    } catch (error) {
      exchange.broke(error);
    }
  };

  /** A handshake ended without a relay (refused, declined, failed). */
  handshakeEnded(): void {
    this.#handshakes--;
  }

  /** An instance's 101: sent on to the client, then both sockets relayed until either side ends. */
  relay(client: Duplex, outcome: Extract<Outcome, { kind: 'upgraded' }>, head: Buffer): void {
    const { native } = outcome.response;
    if (!(native instanceof UpgradedSocket)) throw new Error('an upgraded answer without its socket');
    const handshake = switchingProtocols(outcome.headers);
    this.#handshakes--;
    client.write(handshake);
    const { record } = outcome;
    this.#metrics.websocketsOpen(1);
    const relay: Relay = new Relay(client, native.socket, head, {
      idleTimeoutMs: this.#limits.idleTimeoutMs,
      onEnd: (bytes) => {
        this.#relays.delete(relay);
        this.#metrics.websocketsOpen(-1);
        record?.sent(101, bytes, true);
      },
    });
    this.#relays.add(relay);
    if (this.#closing) relay.goAway(1001, 'the gateway is shutting down');
  }

  /** Shutdown: every relayed client (and instance) gets a 1001 close frame; what is still open after `drainMs` is cut. */
  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    for (const relay of this.#relays) relay.goAway(1001, 'the gateway is shutting down');
    const deadline = Date.now() + drainMs;
    while (this.#relays.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const relay of this.#relays) relay.destroy();
  }

  /** Not a WebSocket for `/svc/`: the plain listener answers it on a connection that closes after. A body cannot be read past an upgrade. */
  #servePlain(incoming: IncomingMessage, socket: Duplex, head: Buffer): void {
    const outgoing = responseOver(incoming, socket);
    const declared = incoming.headers['content-length'];
    if (head.length > 0 || incoming.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0')) {
      return writeError(outgoing, errorParts('BAD_REQUEST', 'a request asking to upgrade to anything but a WebSocket cannot carry a body here'));
    }
    this.#plain(incoming, outgoing);
  }
}

/** A WebSocket handshake on Node: the request as the proxy sees it, whose `upgraded` outcome becomes a relay. */
class WebSocketExchange extends NodeExchange {
  override readonly upgrade = true;
  #relays: WebSocketRelays | undefined;
  #socket: Duplex | undefined;
  #head: Buffer | undefined;
  /** Whether the handshake was counted out of `WebSocketRelays`' handshakes in progress. */
  #ended = false;

  begin(relays: WebSocketRelays, socket: Duplex, head: Buffer): void {
    this.#relays = relays;
    this.#socket = socket;
    this.#head = head;
  }

  override answer(outcome: Outcome): void {
    if (outcome.kind !== 'upgraded') {
      this.#end();
      return super.answer(outcome);
    }
    try {
      this.#relays!.relay(this.#socket!, outcome, this.#head!);
      this.#ended = true;
    } catch (error) {
      (outcome.response.native as Partial<UpgradedSocket> | undefined)?.cancel?.();
      this.broke(error);
    }
  }

  override broke(error: unknown): void {
    this.#end();
    super.broke(error);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#relays?.handshakeEnded();
  }
}

/** An HTTP answer on a connection Node handed over at its upgrade: written by a response of its own, then the connection closes. */
function responseOver(incoming: IncomingMessage, socket: Duplex): ServerResponse {
  const outgoing = new ServerResponse(incoming);
  outgoing.shouldKeepAlive = false;
  outgoing.assignSocket(socket as Socket);
  outgoing.once('finish', () => {
    outgoing.detachSocket(socket as Socket);
    socket.end();
  });
  return outgoing;
}

/** The 101 sent to the client: the instance's end-to-end fields (`Sec-WebSocket-*`) and the gateway's, with the upgrade's own. */
function switchingProtocols(fields: FieldList): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n';
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1]!;
    // undici parsed these, so no line break can be in them; a value written raw is checked all the same.
    if (/[\r\n\0]/.test(value)) throw new Error('an answer field that cannot be sent');
    head += `${fields[i]}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
