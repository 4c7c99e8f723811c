import { fieldValue } from './fields.js';
import type { Inbound } from './inbound.js';

/**
 * A request's body as sent to instances: small bodies of known length are read
 * once so an idempotent request can be sent again; others stream through once,
 * and after the first byte was pulled they cannot be replayed.
 */
export class OutgoingBody {
  readonly #bytes: Uint8Array | null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes a stream may carry (`ETCD_EDGE_MAX_BODY_BYTES`); a body of known length was checked against it already. */
  readonly #maxBytes: number;
  #streamed = 0;
  #touched = false;
  #finished = false;
  #overLimit = false;

  private constructor(bytes: Uint8Array | null, stream: ReadableStream<Uint8Array> | undefined, maxBytes = Infinity) {
    this.#bytes = bytes;
    this.#reader = stream?.getReader();
    this.#maxBytes = maxBytes;
  }

  static readonly empty = new OutgoingBody(null, undefined);

  /**
   * Reads the body now when it is known to be at most `bufferBytes` long,
   * otherwise streams it, cut off once it passes `maxBytes`. Synchronous when there is no body to read.
   */
  static of(request: Pick<Inbound, 'method' | 'fields' | 'hasBody' | 'readBody' | 'streamBody'>, bufferBytes: number, maxBytes?: number): OutgoingBody | Promise<OutgoingBody> {
    if (!request.hasBody) {
      // A GET or HEAD without a body (most requests) is settled without reading any field.
      if (request.method === 'GET' || request.method === 'HEAD') return OutgoingBody.empty;
      return declaredLength(request.fields) === 0 ? new OutgoingBody(new Uint8Array(0), undefined) : OutgoingBody.empty;
    }
    const length = declaredLength(request.fields);
    if (Number.isInteger(length) && length <= bufferBytes) return request.readBody().then((bytes) => new OutgoingBody(bytes, undefined));
    return new OutgoingBody(null, request.streamBody() ?? undefined, maxBytes);
  }

  /** Whether a streamed body passed its limit and was cut off (the attempt failed for it, not for the instance). */
  get overLimit(): boolean {
    return this.#overLimit;
  }

  /** A streamed body an attempt has started and not finished sending: the instance cannot answer before it ends. */
  get sending(): boolean {
    return this.#touched && !this.#finished;
  }

  /** Whether sending it (again) repeats nothing an instance may already have received. */
  get replayable(): boolean {
    return this.#reader === undefined || !this.#touched;
  }

  /** The body for one attempt. A stream's wrapper pulls from the one source; cancelling it leaves the source for a retry. */
  forAttempt(): Uint8Array | ReadableStream<Uint8Array> | null {
    const reader = this.#reader;
    if (reader === undefined) return this.#bytes;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        this.#touched = true;
        const { done, value } = await reader.read();
        if (done) {
          this.#finished = true;
          return controller.close();
        }
        this.#streamed += value.byteLength;
        if (this.#streamed > this.#maxBytes) {
          this.#overLimit = true;
          reader.cancel().catch(() => undefined);
          return controller.error(new RangeError('the request body passed ETCD_EDGE_MAX_BODY_BYTES'));
        }
        controller.enqueue(value);
      },
    }, { highWaterMark: 0 }); // pull only when the upstream reads, so an unsent body stays untouched
  }

  /** Lets go of a source that no attempt will read. */
  discard(): void {
    this.#reader?.cancel().catch(() => undefined);
  }
}

/** Content-Length as a number; NaN when absent or not a number. */
function declaredLength(fields: readonly string[]): number {
  const declared = fieldValue(fields, 'content-length');
  return declared === undefined ? NaN : Number(declared);
}
