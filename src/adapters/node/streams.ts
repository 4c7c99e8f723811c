import type { Readable } from 'node:stream';

/**
 * A Web stream over a Node stream, pulled one chunk at a time so backpressure
 * holds: `Readable.toWeb` in Node 20 queues without bound (and crashed with
 * "Controller is already closed" when clients dropped connections).
 */
export function pullStream(source: Readable, onCancel: () => void, onFirstPull?: () => void): ReadableStream<Uint8Array> {
  // Errors reach the reader through `next()`; one emitted while nobody reads (after a
  // cancel destroyed the source) must not become an uncaught exception.
  source.on('error', ignore);
  // Made on the first pull: until then the source is untouched, and whoever made the stream may still drain it.
  let iterator: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (iterator === undefined) {
          onFirstPull?.();
          iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        }
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      cancel: onCancel,
    },
    { highWaterMark: 0 },
  );
}

function ignore(): void {}
