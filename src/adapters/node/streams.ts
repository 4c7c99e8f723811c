import type { Readable } from 'node:stream';

/**
 * A Web stream over a Node stream, pulled one chunk at a time so backpressure
 * holds: `Readable.toWeb` in Node 20 queues without bound (and crashed with
 * "Controller is already closed" when clients dropped connections).
 */
export function pullStream(source: Readable, onCancel: () => void): ReadableStream<Uint8Array> {
  // Errors reach the reader through `next()`; one emitted while nobody reads (after a
  // cancel destroyed the source) must not become an uncaught exception.
  source.on('error', ignore);
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
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
