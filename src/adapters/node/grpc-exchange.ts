import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import {
  discardBody,
  errorParts,
  fieldValue,
  GrpcStatus,
  grpcMessage,
  grpcStatusOf,
  type Cancellable,
  type ErrorParts,
  type FieldList,
  type Outcome,
  type UpstreamResponse,
} from '../../gateway/index.js';
import { logWhenSent, nativeBodyOf, NodeExchange, type StreamFacts } from './node-proxy.js';

/**
 * A gRPC call over HTTP/2 (h2-proxy.ts): read as any request, its outcome
 * written in gRPC's terms. The instance's answer passes with its trailers
 * (`UpstreamResponse.trailers` → `addTrailers`); the gateway's own errors are
 * a status on HTTP 200 (`grpc-status`, `grpc-message` in trailers), never a
 * JSON body; an instance that breaks off mid-call ends it with UNAVAILABLE.
 */
export class GrpcExchange extends NodeExchange {
  readonly grpc = true;
  readonly #outgoing: Http2ServerResponse;

  constructor(incoming: Http2ServerRequest, outgoing: Http2ServerResponse, target: string, q: number, fields: string[], host: string, onError: ((error: unknown) => void) | undefined, stream: StreamFacts) {
    super(incoming, outgoing, target, q, fields, host, onError, stream);
    this.#outgoing = outgoing;
  }

  override answer(outcome: Outcome): void {
    try {
      if (outcome.record) {
        // What an error sends is trailers, not its JSON body.
        if (outcome.kind === 'error') this.#outgoing.once('close', () => outcome.record!.sent(200, 0, this.#outgoing.writableFinished));
        else logWhenSent(this.#outgoing, outcome, outcome.record);
      }
      writeGrpcOutcome(this.#outgoing, outcome);
    } catch (error) {
      this.broke(error);
    }
  }

  protected override writeBroken(): void {
    writeGrpcError(this.#outgoing, errorParts('INTERNAL', 'the gateway failed on this call'));
  }
}

function writeGrpcOutcome(outgoing: Http2ServerResponse, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'answer':
      return writeGrpcAnswer(outgoing, outcome.response, outcome.headers);
    case 'error':
      return writeGrpcError(outgoing, outcome.error);
    case 'gone':
      outgoing.destroy();
      return;
    case 'upgraded':
      // Not on this path: gRPC is never a WebSocket handshake.
      (outcome.response.native as Cancellable).cancel('not relayed');
      outgoing.destroy();
  }
}

/** The instance's answer: its fields, its body with backpressure, then its trailers. */
function writeGrpcAnswer(outgoing: Http2ServerResponse, upstream: UpstreamResponse, headers: FieldList): void {
  const native = nativeBodyOf(upstream);
  try {
    outgoing.writeHead(upstream.status, headers as never);
  } catch {
    // A field Node refuses to send over HTTP/2: nothing was written yet.
    if (native) native.destroy();
    else discardBody(upstream.body);
    writeGrpcError(outgoing, errorParts('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on'));
    return;
  }
  upstream.trailers?.listen((fields) => outgoing.addTrailers(headersObject(fields)));
  const body = native ?? upstream.body;
  if (body === null || body instanceof Uint8Array) {
    if (body === null) outgoing.end();
    else outgoing.end(body);
    return;
  }
  relay(body instanceof ReadableStream ? Readable.fromWeb(body as NodeWebStream) : body, outgoing);
}

/**
 * The instance's messages to the client as they come. The client gone stops
 * the instance's stream; the instance gone before its end closes the call
 * with UNAVAILABLE, so the client learns at once rather than waiting.
 */
function relay(source: Readable, outgoing: Http2ServerResponse): void {
  source.on('data', (chunk: Buffer) => {
    if (!outgoing.write(chunk)) source.pause();
  });
  outgoing.on('drain', () => source.resume());
  source.once('end', () => outgoing.end());
  source.once('close', () => {
    if (source.readableEnded || outgoing.writableEnded) return;
    endWith(outgoing, GrpcStatus.UNAVAILABLE, 'the instance broke off the call');
  });
  outgoing.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
}

/** The gateway's own error as a gRPC status: HTTP 200, `content-type: application/grpc`, no message, the status in trailers. */
export function writeGrpcError(outgoing: Http2ServerResponse, error: ErrorParts): void {
  if (outgoing.headersSent) {
    if (outgoing.writableEnded) outgoing.destroy();
    else endWith(outgoing, grpcStatusOf(error.code), error.message);
    return;
  }
  const requestId = fieldValue(error.fields, 'x-request-id');
  outgoing.writeHead(200, { 'content-type': 'application/grpc', ...(requestId === undefined ? {} : { 'x-request-id': requestId }) });
  endWith(outgoing, grpcStatusOf(error.code), error.message);
}

function endWith(outgoing: Http2ServerResponse, status: number, message: string): void {
  outgoing.addTrailers({ 'grpc-status': String(status), 'grpc-message': grpcMessage(message) });
  outgoing.end();
}

function headersObject(fields: FieldList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const held = out[name];
    const value = fields[i + 1]!;
    out[name] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [held, value];
  }
  return out;
}
