import type { ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { validIp, type ClientLink, type GoneWatcher } from '../../gateway/index.js';

const isIpLiteral = (text: string): boolean => isIP(text) !== 0;

const CONNECTION = Symbol('etcd-edge client connection');
type KnownSocket = Socket & { [CONNECTION]?: ClientConnection };

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
  readonly #links: ResponseLink[] = [];

  private constructor(socket: Socket) {
    this.ip = validIp(socket.remoteAddress, isIpLiteral);
    this.proto = (socket as TLSSocket).encrypted ? 'https' : 'http';
    socket.once('close', () => {
      for (const link of this.#links) link.closed();
    });
  }

  static of(socket: Socket): ClientConnection {
    return ((socket as KnownSocket)[CONNECTION] ??= new ClientConnection(socket));
  }

  /** The client link of a request on this connection, answered through `outgoing`. */
  link(outgoing: ServerResponse): ResponseLink {
    const links = this.#links;
    // Answers on one connection finish in order: those done are at the head (usually all of them), and the scan stops at the first still under way.
    let done = 0;
    while (done < links.length && links[done]!.finished) done++;
    if (done > 0) links.splice(0, done);
    const link = new ResponseLink(outgoing);
    links.push(link);
    return link;
  }
}

/** The client is gone when its connection closes before the answer was finished. */
class ResponseLink implements ClientLink {
  readonly #outgoing: ServerResponse;
  #gone = false;
  #watcher: GoneWatcher | undefined;

  constructor(outgoing: ServerResponse) {
    this.#outgoing = outgoing;
  }

  get gone(): boolean {
    return this.#gone;
  }

  get finished(): boolean {
    return this.#outgoing.writableFinished;
  }

  watch(watcher: GoneWatcher | undefined): void {
    this.#watcher = watcher;
  }

  /** The connection closed. */
  closed(): void {
    if (this.finished) return;
    this.#gone = true;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.clientGone();
  }
}
