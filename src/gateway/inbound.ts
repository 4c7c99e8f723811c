import type { FieldList } from './fields.js';

/** The client's side of a request in flight. */
export interface ClientLink {
  /** Whether the client went away before its answer was sent. */
  readonly gone: boolean;
  /** Calls `listener` once if the client goes away; returns what stops listening. */
  onGone(listener: () => void): () => void;
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
  /** The whole body, for bodies of a small declared length. */
  readBody(): Promise<Uint8Array>;
  /** The body as a stream that holds backpressure; called at most once. */
  streamBody(): ReadableStream<Uint8Array> | null;
  client: ClientLink;
  /** Keeps background work alive after the response (a Worker's `ctx.waitUntil`). */
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
}

/** A client link over a request's `AbortSignal`, for runtimes that give one. */
export function signalLink(signal: AbortSignal): ClientLink {
  return {
    get gone() {
      return signal.aborted;
    },
    onGone(listener) {
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}
