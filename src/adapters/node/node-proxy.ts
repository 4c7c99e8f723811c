import { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Readable, pipeline } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import {
  discardBody,
  errorParts,
  fieldsOfRaw,
  fieldValue,
  type AccessRecord,
  type Cancellable,
  type ClientLink,
  type ErrorParts,
  type FieldList,
  type GoneWatcher,
  type Inbound,
  type Outcome,
  type ProxyHandler,
  type Responder,
  type UpstreamResponse,
} from '../../gateway/index.js';
import { ClientConnection, type ConnectionRequest } from './client-connection.js';
import { pullStream } from './streams.js';
import { settleUnreadBody, type BodyUse } from './unread-body.js';

/** A request as Node's HTTP/1.1 server or its HTTP/2 compatibility API gives it. */
export type NodeIncoming = IncomingMessage | Http2ServerRequest;
/** Where Node's HTTP/1.1 server or its HTTP/2 compatibility API takes the answer. */
export type NodeOutgoing = ServerResponse | Http2ServerResponse;

/** What an HTTP/2 stream tells of its request (h2-proxy.ts); HTTP/1.1's come from its connection and fields. */
export interface StreamFacts {
  readonly ip: string | undefined;
  readonly proto: 'http' | 'https';
  readonly hasBody: boolean;
}

/** A Host field as a client may send it: a name, IPv4 or bracketed IPv6 literal, and a port. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** What the HTTP/1.1 listener asks of gRPC-Web (`GrpcWebEdge`, grpc-web.ts): a request's kind, the preflight's answer, the calls' exchange. */
export interface GrpcWebRouting {
  kindOfRaw(incoming: IncomingMessage): 'call' | 'preflight' | undefined;
  preflight(incoming: IncomingMessage, outgoing: ServerResponse): void;
  readonly Exchange: typeof NodeExchange;
}

/**
 * Serves `/svc/…` straight from Node's request and response: no Web
 * `Request`, `Headers` or `AbortSignal` per request, which is most of what
 * Hono's Node adapter costs a proxy. The proxy's decisions are the same as on
 * every runtime (`createProxy`, gateway/proxy.ts); only the reading
 * (`NodeExchange`) and the writing (`writeOutcome`) are Node's.
 */
export function nodeProxyListener(proxy: ProxyHandler, onError?: (error: unknown) => void, grpcWeb?: GrpcWebRouting): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  return (incoming, outgoing) => {
    // gRPC-Web (grpc-web.ts): a call goes through the proxy as gRPC, a CORS preflight is answered here.
    const web = grpcWeb?.kindOfRaw(incoming);
    if (web === 'preflight') return grpcWeb!.preflight(incoming, outgoing);
    const inbound = inboundOf(incoming, outgoing, onError, web === 'call' ? grpcWeb!.Exchange : NodeExchange);
    if (typeof inbound === 'string') {
      writeError(outgoing, errorParts('BAD_REQUEST', inbound));
      return;
    }
    try {
      proxy(inbound, inbound);
    } catch (error) {
      inbound.broke(error);
    }
  };
}

/** The request as the proxy sees it (a `NodeExchange`, or `Exchange` for a WebSocket handshake: websocket.ts), or why it cannot be served. */
export function inboundOf(incoming: IncomingMessage, outgoing: ServerResponse, onError: ((error: unknown) => void) | undefined, Exchange = NodeExchange): NodeExchange | string {
  const target = incoming.url ?? '/';
  const q = target.indexOf('?');
  const fields = fieldsOfRaw(incoming.rawHeaders);
  const socket = incoming.socket;
  const host = fieldValue(fields, 'host') ?? `${socket.localAddress?.includes(':') ? `[${socket.localAddress}]` : socket.localAddress}:${socket.localPort}`;
  if (!isHost(host)) return 'the Host field is not a host name or address';
  return new Exchange(incoming, outgoing, target, q, fields, host, onError);
}

/**
 * A Node request as the proxy sees it (`Inbound`), where its outcome is
 * written (`Responder`), and its client's side (`ClientLink`: gone when the
 * connection closes before the answer was finished): one object per request,
 * a class, so its methods are not closures made per request. An HTTP/2
 * request brings its `StreamFacts`, and whoever made it tells it when its
 * stream closes (h2-proxy.ts).
 */
export class NodeExchange implements Inbound, Responder, ClientLink, ConnectionRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly fields: string[];
  readonly ip: string | undefined;
  readonly proto: string;
  readonly host: string;
  readonly zone = undefined;
  readonly hasBody: boolean;
  /** Handshakes come through Node's `upgrade` event, as a `WebSocketExchange` (websocket.ts). */
  readonly upgrade: boolean = false;
  readonly client: ClientLink = this;
  readonly waitUntil = undefined;
  readonly #incoming: NodeIncoming;
  readonly #outgoing: NodeOutgoing;
  readonly #onError: ((error: unknown) => void) | undefined;
  #gone = false;
  /** How the body was asked for, if it was: what an early answer does with the rest of it (unread-body.ts). */
  #body: BodyUse = 'unread';
  #watcher: GoneWatcher | undefined;

  constructor(incoming: NodeIncoming, outgoing: NodeOutgoing, target: string, q: number, fields: string[], host: string, onError: ((error: unknown) => void) | undefined, stream?: StreamFacts) {
    this.method = incoming.method ?? 'GET';
    this.path = q === -1 ? target : target.slice(0, q);
    this.query = q === -1 ? '' : target.slice(q);
    this.fields = fields;
    this.host = host;
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.#onError = onError;
    if (stream === undefined) {
      const connection = ClientConnection.of(incoming.socket);
      const length = fieldValue(fields, 'content-length');
      this.ip = connection.ip;
      this.proto = connection.proto;
      this.hasBody = (length !== undefined && length !== '0') || fieldValue(fields, 'transfer-encoding') !== undefined;
      connection.track(this);
    } else {
      this.ip = stream.ip;
      this.proto = stream.proto;
      this.hasBody = stream.hasBody;
    }
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

  closed(): void {
    if (this.finished) return;
    this.#gone = true;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.clientGone();
  }

  answer(outcome: Outcome): void {
    try {
      this.settleBody();
      if (outcome.record) logWhenSent(this.#outgoing, outcome, outcome.record);
      writeOutcome(this.#outgoing, outcome);
    } catch (error) {
      this.broke(error);
    }
  }

  broke(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // A failing error hook must not take the answer (or the process) down with it.
    }
    try {
      this.writeBroken();
    } catch {
      this.#outgoing.destroy();
    }
  }

  /** Answered before the client finished sending its body (refused, cut off at the limit, or an instance that answered early): unread-body.ts. */
  protected settleBody(): void {
    const incoming = this.#incoming;
    if (this.hasBody && !incoming.complete && incoming instanceof IncomingMessage) {
      settleUnreadBody(incoming, this.#outgoing as ServerResponse, fieldValue(this.fields, 'content-length'), this.#body);
    }
  }

  /** The gateway's own answer when a step broke: its JSON error here, a gRPC status in the gRPC exchanges. */
  protected writeBroken(): void {
    writeError(this.#outgoing, errorParts('INTERNAL', 'the gateway failed on this request'));
  }

  readBody(): Promise<Uint8Array> {
    this.#body = 'read';
    return readAll(this.#incoming);
  }

  streamBody(): ReadableStream<Uint8Array> {
    // Left to the server to drain or close if no attempt reads it (unread-body.ts).
    return pullStream(this.#incoming, () => undefined, () => (this.#body = 'streamed'));
  }
}

/** Writes the request's access log line once Node has sent the answer (or given up on it), with the body bytes that went out. */
export function logWhenSent(outgoing: NodeOutgoing, outcome: Outcome, record: AccessRecord): void {
  if (outcome.kind === 'gone') return record.sent(499, 0, false);
  let bytes = 0;
  let declaredOnly = false;
  if (outcome.kind === 'error') bytes = Buffer.byteLength(outcome.error.body);
  else if (outcome.kind === 'answer' && !outcome.bodyless) {
    const { body } = outcome.response;
    const declared = fieldValue(outcome.response.headers, 'content-length');
    const native = nativeBodyOf(outcome.response);
    if (body instanceof Uint8Array) bytes = body.byteLength;
    // A declared length is what a finished answer sent; only bodies without one are counted as they pass.
    else if (declared !== undefined && /^\d+$/.test(declared)) {
      bytes = Number(declared);
      declaredOnly = true;
    }
    else if (native) native.on('data', (chunk: Buffer) => void (bytes += chunk.length));
  }
  // A declared length cut off part-way says nothing of what went out: unknown then.
  outgoing.once('close', () => record.sent(outgoing.statusCode, declaredOnly && !outgoing.writableFinished ? null : bytes, outgoing.writableFinished));
}

/** The last Host field found good: clients ask for the same few hosts again and again. */
let lastHost = '';

export function isHost(host: string): boolean {
  if (host === lastHost) return true;
  if (host.length > 255 || !HOST.test(host)) return false;
  lastHost = host;
  return true;
}

/** The whole body; the listeners are removed once it settles, so a kept-alive connection does not hold the chunks. */
function readAll(incoming: NodeIncoming): Promise<Uint8Array> {
  // A client that went away before the body was asked for (during a lookup) sends no more events.
  if (incoming.destroyed && !incoming.complete) return Promise.reject(new Error('the client went away while sending the body'));
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    const data = (chunk: Buffer): void => void chunks.push(chunk);
    const settle = (error: Error | undefined): void => {
      incoming.off('data', data).off('end', end).off('error', settle).off('close', close);
      const read = chunks;
      chunks = [];
      if (error) reject(error);
      else resolve(read.length === 1 ? read[0]! : Buffer.concat(read));
    };
    const end = (): void => settle(undefined);
    const close = (): void => {
      if (!incoming.complete) settle(new Error('the client went away while sending the body'));
    };
    incoming.on('data', data).on('end', end).on('error', settle).on('close', close);
  });
}

/** Writes what the proxy decided to Node's response. */
function writeOutcome(outgoing: NodeOutgoing, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'answer':
      return writeAnswer(outgoing, outcome.response, outcome.headers, outcome.bodyless);
    case 'error':
      return writeError(outgoing, outcome.error);
    case 'gone':
      outgoing.destroy();
      return;
    case 'upgraded':
      // Not on this path (`upgrade` is false here): nothing could relay it.
      (outcome.response.native as Cancellable).cancel('not relayed');
      outgoing.destroy();
  }
}

/** undici's own body of an instance's answer, when it came from `UndiciUpstream` (its `native`). */
export function nativeBodyOf(response: UpstreamResponse): Readable | undefined {
  return response.native instanceof Readable ? response.native : undefined;
}

/**
 * Writes an instance's answer: undici's body straight to the socket with
 * backpressure, no Web stream in between. Client gone or instance broken
 * off: both sides are torn down.
 */
function writeAnswer(outgoing: NodeOutgoing, upstream: UpstreamResponse, headers: FieldList, bodyless: boolean): void {
  const native = nativeBodyOf(upstream);
  try {
    // HTTP/2's compatibility API takes the same flat list (its types say otherwise).
    outgoing.writeHead(upstream.status, headers as never);
  } catch {
    // A field Node refuses to send (a character it does not allow): nothing was written yet.
    if (native) native.destroy();
    else discardBody(upstream.body);
    writeError(outgoing, errorParts('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on'));
    return;
  }
  if (bodyless) {
    if (native) native.destroy();
    else discardBody(upstream.body);
    outgoing.end();
    return;
  }
  const body = native ?? upstream.body;
  if (body === null || body instanceof Uint8Array) {
    // Both kinds of response take `end(bytes | undefined)`; their union's overloads do not say so.
    (outgoing as ServerResponse).end(body ?? undefined);
    return;
  }
  const source = body instanceof ReadableStream ? Readable.fromWeb(body as NodeWebStream) : body;
  pipeline(source, outgoing, (error) => {
    if (error) outgoing.destroy();
  });
}

/** The gateway's own error answer; a response already under way is cut off instead. */
export function writeError(outgoing: NodeOutgoing, error: ErrorParts): void {
  if (outgoing.headersSent) {
    outgoing.destroy();
    return;
  }
  outgoing.writeHead(error.status, error.fields as never).end(error.body);
}
