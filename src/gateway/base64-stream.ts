/**
 * Base64 over a stream of chunks, for gRPC-Web's `-text` bodies: chunks cut
 * anywhere, padding allowed mid-stream (a client may encode each message on
 * its own). Web standards only (`btoa`, `atob`).
 */

/** Bytes at a time through `String.fromCharCode`: a multiple of 3, so only the last block of a chunk is padded. */
const BLOCK = 3 * 8192;

function binaryString(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += BLOCK) out += String.fromCharCode(...bytes.subarray(i, i + BLOCK));
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const ascii = new TextEncoder();

/**
 * Encodes chunks as one base64 text: what does not fill a 3-byte group waits
 * for the next chunk, and `end` pads it.
 *
 * @example
 * const encoder = new Base64Encoder();
 * encoder.push(bytes); // ASCII bytes of base64, possibly empty
 * encoder.end();       // the rest, padded
 */
export class Base64Encoder {
  #rest: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array {
    const bytes = concat(this.#rest, chunk);
    const whole = bytes.length - (bytes.length % 3);
    this.#rest = bytes.slice(whole);
    return ascii.encode(btoa(binaryString(bytes.subarray(0, whole))));
  }

  end(): Uint8Array {
    const rest = this.#rest;
    this.#rest = new Uint8Array(0);
    return ascii.encode(btoa(binaryString(rest)));
  }
}

/**
 * Decodes base64 text that comes in chunks: a 4-character group split across
 * chunks waits for the rest, and a padded group may end one run of base64 and
 * another begin after it. Throws (`atob`'s error) on what is not base64.
 */
export class Base64Decoder {
  #rest = '';

  push(chunk: Uint8Array): Uint8Array {
    const text = this.#rest + binaryString(chunk);
    const whole = text.length - (text.length % 4);
    this.#rest = text.slice(whole);
    return decodeGroups(text.slice(0, whole));
  }

  /** Throws when a partial group is left over. */
  end(): void {
    if (this.#rest.length !== 0) throw new SyntaxError('the base64 body ends part-way through a group of 4 characters');
  }
}

/** Whole groups of 4, each padded one ending a run for `atob`. */
function decodeGroups(text: string): Uint8Array {
  let binary = '';
  for (let start = 0; start < text.length; ) {
    const pad = text.indexOf('=', start);
    const end = pad === -1 ? text.length : pad + 4 - ((pad - start) % 4);
    binary += atob(text.slice(start, end));
    start = end;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A stream of base64 text as the bytes it stands for; errors where it is not base64. */
export function base64Decoded(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decoder = new Base64Decoder();
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const bytes = decoder.push(chunk);
        if (bytes.length > 0) controller.enqueue(bytes);
      },
      flush() {
        decoder.end();
      },
    }),
  );
}

/** A whole body of base64 text as the bytes it stands for. */
export function base64DecodedAll(text: Uint8Array): Uint8Array {
  const decoder = new Base64Decoder();
  const bytes = decoder.push(text);
  decoder.end();
  return bytes;
}
