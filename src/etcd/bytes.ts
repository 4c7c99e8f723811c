/**
 * etcd keys and values are raw bytes; the JSON gateway carries them as base64.
 * Strings given to the client are UTF-8 encoded; results stay bytes so that
 * keys that are not valid UTF-8 survive a round trip unchanged.
 */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** UTF-8 encodes a string; passes bytes through. */
export function toBytes(input: Bytes): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input;
}

/**
 * Decodes UTF-8 bytes to a string.
 * @throws {TypeError} when the bytes are not valid UTF-8
 */
export function utf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** JSON-encodes a value as UTF-8 bytes. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Parses UTF-8 JSON bytes.
 * @throws {TypeError | SyntaxError} on invalid UTF-8 or JSON
 */
export function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(utf8(bytes));
}

/** Base64 of raw bytes, as etcd's gateway expects in `key`, `value`, `range_end`. */
export function toBase64(input: Bytes): string {
  const bytes = toBytes(input);
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/**
 * Decodes standard base64 (padding optional) to bytes.
 * @throws {TypeError} when the text is not base64
 */
export function fromBase64(text: string): Uint8Array {
  if (text === '') return EMPTY;
  let binary: string;
  try {
    binary = atob(text);
  } catch (cause) {
    throw new TypeError('invalid base64', { cause });
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * The `range_end` that selects every key starting with `prefix`: the prefix
 * with trailing 0xff bytes dropped and its last byte incremented. A prefix of
 * only 0xff bytes (or empty) has no upper bound, which etcd spells `"\0"`.
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const bytes = toBytes(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i] = bytes[i]! + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** Byte-wise comparison, the order etcd keeps keys in. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** True when both byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
