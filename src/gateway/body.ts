/**
 * A request's body as sent to instances: small bodies of known length are read
 * once so an idempotent request can be sent again; others stream through once,
 * and after the first byte was pulled they cannot be replayed.
 */
export class OutgoingBody {
  readonly #bytes: Uint8Array | null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #touched = false;

  private constructor(bytes: Uint8Array | null, stream: ReadableStream<Uint8Array> | undefined) {
    this.#bytes = bytes;
    this.#reader = stream?.getReader();
  }

  static readonly empty = new OutgoingBody(null, undefined);

  /**
   * Reads the body now when it is known to be at most `bufferBytes` long;
   * otherwise streams `stream()` (a runtime's own stream, used instead of
   * `request.body`, which is then never touched) or `request.body`.
   */
  static async of(request: Request, bufferBytes: number, stream?: () => ReadableStream<Uint8Array> | undefined): Promise<OutgoingBody> {
    const declared = request.headers.get('content-length');
    const length = declared === null ? NaN : Number(declared);
    const hasBody = stream ? length > 0 || request.headers.has('transfer-encoding') : request.body !== null;
    if (!hasBody) return length === 0 && request.method !== 'GET' && request.method !== 'HEAD' ? new OutgoingBody(new Uint8Array(0), undefined) : OutgoingBody.empty;
    const source = stream?.();
    if (Number.isInteger(length) && length <= bufferBytes) {
      // A runtime's `Request` may drop the body of a GET; its own stream still has it.
      return new OutgoingBody(source ? await readAll(source) : new Uint8Array(await request.arrayBuffer()), undefined);
    }
    return new OutgoingBody(null, source ?? request.body ?? undefined);
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
        if (done) controller.close();
        else controller.enqueue(value);
      },
    }, { highWaterMark: 0 }); // pull only when the upstream reads, so an unsent body stays untouched
  }

  /** Lets go of a source that no attempt will read. */
  discard(): void {
    this.#reader?.cancel().catch(() => undefined);
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
