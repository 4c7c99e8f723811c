/**
 * Splits a byte stream into text lines (etcd's gateway streams one JSON
 * object per line). With `idleMs`, a stream that sends nothing for that long
 * ends with an error, so a silently dead connection cannot hang a reader.
 */
export async function* readLines(body: ReadableStream<Uint8Array>, idleMs = 0): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, idleMs);
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== '') yield line;
        newline = buffer.indexOf('\n');
      }
    }
    buffer += decoder.decode();
    if (buffer.trim() !== '') yield buffer.trim();
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** Thrown when a stream sent nothing for longer than its idle limit. */
export class StreamIdleError extends Error {
  override name = 'StreamIdleError';
}

function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleMs: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (idleMs <= 0) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StreamIdleError(`stream idle for ${idleMs} ms`)), idleMs);
  });
  return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
}
