import { Writable } from 'node:stream';

/**
 * A stand-in for what Lambda's Node.js runtime provides to a streaming
 * handler, as aws-lambda-nodejs-runtime-interface-client implements it:
 * the `awslambda` global (`streamifyResponse` marks a handler with
 * `Symbol.for('aws.lambda.runtime.handler.streaming')`; `HttpResponseStream.from`
 * sets the content type and hooks the stream's first write to send the JSON
 * metadata prelude and 8 NUL bytes), and a response stream whose `write`
 * runs that hook once, before its first chunk. Importing this module installs
 * the global, so import it before the handler's module: like the runtime,
 * which sets it before it loads the function.
 */

const PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = new Uint8Array(8);
export const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

type Write = (chunk: unknown) => boolean;

/** One chunk as it reached the wire (what the runtime sends on to Lambda), and when. */
export interface WireChunk {
  at: number;
  bytes: Buffer;
}

/** The runtime's response stream: a Writable that keeps what reached the wire, with timestamps. */
export class ResponseStream extends Writable {
  readonly wire: WireChunk[] = [];
  contentType = 'application/octet-stream';
  _onBeforeFirstWrite: ((write: Write) => void) | undefined;
  #written = false;
  readonly #breakAfter: number;
  #bytes = 0;

  /** `breakAfter`: the runtime's connection breaks once that many bytes (prelude included) reached the wire. */
  constructor(breakAfter = Number.POSITIVE_INFINITY) {
    super();
    this.#breakAfter = breakAfter;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#bytes >= this.#breakAfter) return callback(new Error('the connection to the runtime broke'));
    this.#bytes += chunk.length;
    this.wire.push({ at: performance.now(), bytes: Buffer.from(chunk) });
    callback();
  }

  setContentType(type: string): void {
    if (this.#written) throw new Error('Cannot set content-type, too late.');
    this.contentType = type;
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    const write = (piece: unknown): boolean => super.write(piece as Buffer);
    if (!this.#written && typeof this._onBeforeFirstWrite === 'function') this._onBeforeFirstWrite(write);
    this.#written = true;
    return (super.write as (...args: unknown[]) => boolean)(data, ...rest);
  }
}

/** `awslambda.HttpResponseStream`, as the runtime defines it. */
class HttpResponseStream {
  static from(stream: ResponseStream, prelude: Record<string, unknown>): ResponseStream {
    stream.setContentType(PRELUDE_TYPE);
    const metadata = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(DELIMITER);
    };
    return stream;
  }
}

(globalThis as { awslambda?: unknown }).awslambda = {
  streamifyResponse<H extends object>(handler: H): H {
    (handler as Record<symbol, unknown>)[STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream,
};

/** What one streamed invocation sent: the prelude (status, fields, cookies), the body, and the wire chunk by chunk. */
export interface Streamed {
  prelude: { statusCode: number; headers: Record<string, string>; cookies: string[] } | undefined;
  body: Buffer;
  /** Body chunks only (the prelude and delimiter taken off), with the time each reached the wire. */
  chunks: WireChunk[];
  /** When the invocation was over: the handler's promise settled and the stream finished. */
  endedAt: number;
}

type StreamingHandler = (event: unknown, stream: ResponseStream, context: unknown) => unknown;

/**
 * Invokes a streaming handler as the runtime does: it must return a promise;
 * the runtime waits for it, then for the stream to finish, and fails the
 * invocation when the stream was never ended. With `breakAfter`, the stream
 * fails once that many bytes went out, as when the runtime's connection breaks.
 */
export async function invokeStreaming(handler: StreamingHandler, event: unknown, context: unknown, breakAfter?: number): Promise<Streamed> {
  if ((handler as unknown as Record<symbol, unknown>)[STREAMING] !== 'response') throw new Error('the handler is not marked as streaming');
  const stream = new ResponseStream(breakAfter);
  const finished = new Promise<void>((resolve) => stream.once('close', resolve).once('finish', resolve));
  const result = handler(event, stream, context);
  if (!(result instanceof Promise)) throw new Error('Streaming does not support non-async handlers.');
  await result;
  await finished;
  if (!stream.writableFinished && !stream.destroyed) throw new Error('Response stream is not finished.');
  return { ...parsed(stream), endedAt: performance.now() };
}

/** The wire split as Lambda reads it: with the prelude content type, JSON up to 8 NUL bytes, then the body. */
function parsed(stream: ResponseStream): Omit<Streamed, 'endedAt'> {
  if (stream.contentType !== PRELUDE_TYPE) return { prelude: undefined, body: Buffer.concat(stream.wire.map((c) => c.bytes)), chunks: stream.wire };
  let head = Buffer.alloc(0);
  let index = 0;
  for (; index < stream.wire.length; index++) {
    head = Buffer.concat([head, stream.wire[index]!.bytes]);
    const nul = head.indexOf(0);
    if (nul >= 0 && head.length >= nul + DELIMITER.length) {
      const rest = head.subarray(nul + DELIMITER.length);
      const chunks = [...(rest.length > 0 ? [{ at: stream.wire[index]!.at, bytes: rest }] : []), ...stream.wire.slice(index + 1)];
      const prelude = JSON.parse(head.subarray(0, nul).toString('utf8')) as Streamed['prelude'];
      return { prelude, body: Buffer.concat(chunks.map((c) => c.bytes)), chunks };
    }
  }
  throw new Error('the stream has the prelude content type but no complete prelude');
}
