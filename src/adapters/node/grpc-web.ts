import { ServerResponse, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import {
  asGrpcCallFields,
  base64Decoded,
  base64DecodedAll,
  Base64Encoder,
  discardBody,
  errorParts,
  fieldValue,
  GrpcStatus,
  grpcMessage,
  grpcStatusOf,
  GrpcWebCors,
  grpcWebContentTypeOf,
  grpcWebEncodingOf,
  isGrpcWebPreflight,
  statusFields,
  trailerFrame,
  type Cancellable,
  type ErrorParts,
  type FieldList,
  type GrpcWebEncoding,
  type Outcome,
  type UpstreamResponse,
} from '../../gateway/index.js';
import { logWhenSent, nativeBodyOf, NodeExchange, type NodeIncoming, type NodeOutgoing, type StreamFacts } from './node-proxy.js';

/** What a request is to gRPC-Web: a call, a CORS preflight the gateway answers, or neither. */
export type GrpcWebKind = 'call' | 'preflight' | undefined;

/** Fields of an instance's gRPC answer that a gRPC-Web one does not carry: its length changes, and CORS is the gateway's to say. */
const DROPPED = /^(content-length|content-type|access-control-.*)$/;

/**
 * gRPC-Web on Node (grpc/doc/PROTOCOL-WEB.md), over HTTP/1.1 or HTTP/2 from
 * the client: the call goes to the instance as real gRPC (HTTP/2 with
 * trailers, through the proxy's gRPC forwarding: `Inbound.grpc`), and its
 * answer comes back as gRPC-Web, the trailers as the body's last frame.
 * CORS for browsers per `ETCD_EDGE_CORS_ORIGINS` (gateway/grpc-web-cors.ts).
 *
 * @example
 * const grpcWeb = new GrpcWebEdge(config.corsOrigins);
 * nodeProxyListener(proxy, onError, grpcWeb);
 */
export class GrpcWebEdge {
  readonly cors: GrpcWebCors;
  /** The exchange of this gateway's gRPC-Web calls, its CORS bound. */
  readonly Exchange: typeof NodeExchange;

  constructor(corsOrigins: readonly string[]) {
    const cors = new GrpcWebCors(corsOrigins);
    this.cors = cors;
    this.Exchange = class extends GrpcWebExchange {
      protected readonly cors = cors;
    };
  }

  kindOf(method: string | undefined, contentType: string | undefined, requestHeaders: string | undefined): GrpcWebKind {
    if (grpcWebEncodingOf(contentType) !== undefined) return 'call';
    return this.cors.on && isGrpcWebPreflight(method, requestHeaders) ? 'preflight' : undefined;
  }

  /** An HTTP/1.1 request's kind from its raw fields: Node builds `headers` only when asked, and plain requests need not ask. */
  kindOfRaw(incoming: IncomingMessage): GrpcWebKind {
    const raw = incoming.rawHeaders;
    return this.kindOf(incoming.method, rawValue(raw, 'content-type'), incoming.method === 'OPTIONS' ? rawValue(raw, 'access-control-request-headers') : undefined);
  }

  /** Answers a preflight: 204, with CORS fields where its origin is allowed. */
  preflight(incoming: NodeIncoming, outgoing: NodeOutgoing): void {
    outgoing.writeHead(204, this.cors.preflightFields(incoming.headers.origin) as never).end();
  }
}

function rawValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length === name.length && field.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/**
 * A gRPC-Web call as the proxy sees it: a gRPC call (`grpc`, fields as
 * gRPC's, a `-text` body decoded), whose outcome is written as gRPC-Web:
 * the instance's messages as they come, then its trailers as a frame; the
 * gateway's own errors as a status on HTTP 200 (in the headers when nothing
 * was sent yet, else in the trailer frame).
 */
abstract class GrpcWebExchange extends NodeExchange {
  readonly grpc = true;
  protected abstract readonly cors: GrpcWebCors;
  readonly #outgoing: NodeOutgoing;
  readonly #encoding: GrpcWebEncoding;
  readonly #origin: string | undefined;
  /** Base64 for a `-text` answer, kept across chunks. */
  #encoder: Base64Encoder | undefined;

  constructor(incoming: NodeIncoming, outgoing: NodeOutgoing, target: string, q: number, fields: string[], host: string, onError: ((error: unknown) => void) | undefined, stream?: StreamFacts) {
    super(incoming, outgoing, target, q, fields, host, onError, stream);
    this.#outgoing = outgoing;
    this.#encoding = grpcWebEncodingOf(fieldValue(fields, 'content-type')) ?? 'binary';
    this.#origin = fieldValue(fields, 'origin');
    if (this.#encoding === 'text') this.#encoder = new Base64Encoder();
    asGrpcCallFields(this.fields);
  }

  override readBody(): Promise<Uint8Array> {
    const body = super.readBody();
    return this.#encoding === 'text' ? body.then(base64DecodedAll) : body;
  }

  override streamBody(): ReadableStream<Uint8Array> {
    const body = super.streamBody();
    return this.#encoding === 'text' ? base64Decoded(body) : body;
  }

  override answer(outcome: Outcome): void {
    try {
      this.settleBody();
      if (outcome.record) {
        if (outcome.kind === 'error') this.#outgoing.once('close', () => outcome.record!.sent(200, 0, this.#outgoing.writableFinished));
        else logWhenSent(this.#outgoing, outcome, outcome.record);
      }
      this.#write(outcome);
    } catch (error) {
      this.broke(error);
    }
  }

  protected override writeBroken(): void {
    this.#writeError(errorParts('INTERNAL', 'the gateway failed on this call'));
  }

  #write(outcome: Outcome): void {
    switch (outcome.kind) {
      case 'answer':
        return this.#writeAnswer(outcome.response, outcome.headers);
      case 'error':
        return this.#writeError(outcome.error);
      case 'gone':
        this.#outgoing.destroy();
        return;
      case 'upgraded':
        // Not on this path: a gRPC-Web call is never a WebSocket handshake.
        (outcome.response.native as Cancellable).cancel('not relayed');
        this.#outgoing.destroy();
    }
  }

  /** The instance's answer: its fields as gRPC-Web's, its messages with backpressure, then its trailers as a frame. */
  #writeAnswer(upstream: UpstreamResponse, headers: FieldList): void {
    const native = nativeBodyOf(upstream);
    // `body` only when there is no native stream: asking for it makes a Web stream over the native one.
    const body = native ?? upstream.body;
    const trailersOnly = body === null ? upstream.trailers?.fields : undefined;
    try {
      this.#outgoing.writeHead(upstream.status, this.#answerFields(headers, trailersOnly) as never);
    } catch {
      // A field Node refuses to send: nothing was written yet.
      if (native) native.destroy();
      else discardBody(upstream.body);
      return this.#writeError(errorParts('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on'));
    }
    if (trailersOnly !== undefined) return void this.#outgoing.end();
    const ended = (): void => this.#end(upstream.trailers?.fields ?? statusFields(GrpcStatus.INTERNAL, 'the instance ended the call without a gRPC status'));
    if (body === null || body instanceof Uint8Array) {
      if (body !== null) this.#send(body);
      return ended();
    }
    this.#relay(body instanceof ReadableStream ? Readable.fromWeb(body as NodeWebStream) : body, ended);
  }

  /** The instance's fields, its content type gRPC-Web's, CORS the gateway's; a trailers-only answer's status with them. */
  #answerFields(headers: FieldList, status: FieldList | undefined): FieldList {
    const fields: FieldList = ['content-type', grpcWebContentTypeOf(fieldValue(headers, 'content-type'), this.#encoding)];
    for (let i = 0; i < headers.length; i += 2) if (!DROPPED.test(headers[i]!)) fields.push(headers[i]!, headers[i + 1]!);
    if (status !== undefined) fields.push(...status);
    fields.push(...this.cors.answerFields(this.#origin));
    return fields;
  }

  /**
   * The instance's messages as they come. The client gone stops the
   * instance's stream; the instance gone before its end closes the call with
   * UNAVAILABLE in the trailer frame, so the client learns at once.
   */
  #relay(source: Readable, ended: () => void): void {
    const outgoing = this.#outgoing;
    source.on('data', (chunk: Buffer) => {
      if (!this.#send(chunk)) source.pause();
    });
    outgoing.on('drain', () => source.resume());
    source.once('end', ended);
    source.once('close', () => {
      if (source.readableEnded || outgoing.writableEnded) return;
      this.#end(statusFields(GrpcStatus.UNAVAILABLE, grpcMessage('the instance broke off the call')));
    });
    outgoing.once('close', () => {
      if (!source.readableEnded) source.destroy();
    });
  }

  /** Bytes of the body to the client, base64 for `-text`; false when the client is behind. */
  #send(bytes: Uint8Array): boolean {
    const out = this.#encoder ? this.#encoder.push(bytes) : bytes;
    // Both kinds of response take `write(bytes)`; their union's overloads do not say so.
    return out.length === 0 || (this.#outgoing as ServerResponse).write(out);
  }

  /** The trailer frame, and the end. */
  #end(trailers: FieldList): void {
    if (this.#outgoing.writableEnded) return;
    this.#send(trailerFrame(trailers));
    const rest = this.#encoder?.end();
    if (rest !== undefined && rest.length > 0) this.#outgoing.end(rest);
    else this.#outgoing.end();
  }

  /** The gateway's own error as a gRPC status on HTTP 200: trailers-only when nothing was sent, else the trailer frame. */
  #writeError(error: ErrorParts): void {
    const outgoing = this.#outgoing;
    const status = statusFields(grpcStatusOf(error.code), grpcMessage(error.message));
    if (outgoing.headersSent) {
      if (outgoing.writableEnded) outgoing.destroy();
      else this.#end(status);
      return;
    }
    const requestId = fieldValue(error.fields, 'x-request-id');
    const fields = ['content-type', grpcWebContentTypeOf(undefined, this.#encoding), ...status, ...this.cors.answerFields(this.#origin)];
    if (requestId !== undefined) fields.push('x-request-id', requestId);
    outgoing.writeHead(200, fields as never).end();
  }
}
