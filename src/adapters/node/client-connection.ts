import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { validIp } from '../../gateway/index.js';

const isIpLiteral = (text: string): boolean => isIP(text) !== 0;

const CONNECTION = Symbol('etcd-edge client connection');
type KnownSocket = Socket & { [CONNECTION]?: ClientConnection };

/** A request on a connection, told when the connection closes. */
export interface ConnectionRequest {
  /** Whether its answer was sent whole. */
  readonly finished: boolean;
  /** The connection closed. */
  closed(): void;
}

/**
 * What the gateway knows of one client connection, worked out on its first
 * request rather than on every one: the peer's address, the scheme, and the
 * requests whose answers may still be under way (more than one when
 * pipelined). One 'close' listener per connection tells them all when the
 * client goes away; a listener on every response cost ~3 % of a bare
 * proxy's CPU.
 */
export class ClientConnection {
  /** The peer's address, an IP literal Node vouches for. */
  readonly ip: string | undefined;
  readonly proto: 'http' | 'https';
  readonly #requests: ConnectionRequest[] = [];

  private constructor(socket: Socket) {
    this.ip = validIp(socket.remoteAddress, isIpLiteral);
    this.proto = (socket as TLSSocket).encrypted ? 'https' : 'http';
    socket.once('close', () => {
      for (const request of this.#requests) request.closed();
    });
  }

  static of(socket: Socket): ClientConnection {
    return ((socket as KnownSocket)[CONNECTION] ??= new ClientConnection(socket));
  }

  /** Tells `request` when this connection closes. */
  track(request: ConnectionRequest): void {
    const requests = this.#requests;
    // Answers on one connection finish in order: those done are at the head (usually all of them), and the scan stops at the first still under way.
    let done = 0;
    while (done < requests.length && requests[done]!.finished) done++;
    if (done > 0) requests.splice(0, done);
    requests.push(request);
  }
}
