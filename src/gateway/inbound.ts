import type { FieldList } from './fields.js';

/** Told when the client of a request goes away: the attempt in flight. */
export interface GoneWatcher {
  clientGone(): void;
}

/** The client's side of a request in flight. */
export interface ClientLink {
  /** Whether the client went away before its answer was sent. */
  readonly gone: boolean;
  /** Sets the one watcher, told once if the client goes away (one attempt runs at a time); undefined stops watching. */
  watch(watcher: GoneWatcher | undefined): void;
}

/**
 * A request to `/svc/…` as the proxy sees it, whatever runtime received it:
 * each runtime builds one from what it has, without going through a Web
 * `Request` where it does not have one (Node).
 */
export interface Inbound {
  method: string;
  /** The path as received: still percent-encoded, dot segments as sent. */
  path: string;
  /** The query as received: empty or `?…`. */
  query: string;
  /** Header fields as received, names lower case. */
  fields: FieldList;
  /** The peer's address, an IP literal the runtime vouches for (never taken from a header a client can forge). */
  ip: string | undefined;
  /** The scheme the client used and the host it asked for, for the forwarding trail. */
  proto: string;
  host: string;
  /** The edge's zone for this request (a Worker's colo); undefined for the configured one. */
  zone: string | undefined;
  /** Whether a body follows the header. */
  hasBody: boolean;
  /**
   * The request asks to become a WebSocket (`Upgrade: websocket`): the proxy
   * picks an instance for it as for any request, then sends the handshake
   * with `Upstream.upgrade` and answers `upgraded` (see proxy.ts). Set by the
   * runtime; false on Node's plain request path.
   */
  upgrade: boolean;
  /**
   * The runtime took the request as a gRPC call (HTTP/2, `application/grpc*`)
   * and writes its outcome in gRPC's terms (statuses in trailers): the proxy
   * routes it as one (grpc.ts). Absent or false elsewhere, where a gRPC
   * content type is refused.
   */
  grpc?: boolean;
  /** The whole body, for bodies of a small declared length. */
  readBody(): Promise<Uint8Array>;
  /** The body as a stream that holds backpressure; called at most once. */
  streamBody(): ReadableStream<Uint8Array> | null;
  client: ClientLink;
  /** Keeps background work alive after the response (a Worker's `ctx.waitUntil`). */
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
}

/**
 * The link of a runtime that never says when a client goes away, because it
 * ends what the request started itself (Workers cancel a request's
 * subrequests when its client disconnects).
 */
export const UNWATCHED_CLIENT: ClientLink = { gone: false, watch: () => undefined };

/** A client link over a request's `AbortSignal`, for runtimes that give one. */
export function signalLink(signal: AbortSignal): ClientLink {
  return new SignalLink(signal);
}

class SignalLink implements ClientLink {
  readonly #signal: AbortSignal;
  #watcher: GoneWatcher | undefined;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#watcher?.clientGone(), { once: true });
  }

  get gone(): boolean {
    return this.#signal.aborted;
  }

  watch(watcher: GoneWatcher | undefined): void {
    this.#watcher = watcher;
  }
}
