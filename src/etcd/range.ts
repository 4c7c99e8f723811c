import { prefixEnd, toBase64, toBytes } from './bytes.js';
import type { KeyRange } from './types.js';

/** The wire form of a key range: base64 `key` and, for ranges, `range_end`. */
export interface WireRange {
  key: string;
  range_end?: string;
}

/** Resolves a `KeyRange` to its `[key, rangeEnd)` bytes (rangeEnd absent for one key). */
export function rangeBytes(range: KeyRange): { key: Uint8Array; rangeEnd?: Uint8Array } {
  if (typeof range === 'string' || range instanceof Uint8Array) return { key: toBytes(range) };
  if ('prefix' in range) {
    const key = toBytes(range.prefix);
    return { key: key.length === 0 ? new Uint8Array([0]) : key, rangeEnd: prefixEnd(key) };
  }
  return range.rangeEnd === undefined
    ? { key: toBytes(range.key) }
    : { key: toBytes(range.key), rangeEnd: toBytes(range.rangeEnd) };
}

export function wireRange(range: KeyRange): WireRange {
  const { key, rangeEnd } = rangeBytes(range);
  return rangeEnd === undefined ? { key: toBase64(key) } : { key: toBase64(key), range_end: toBase64(rangeEnd) };
}
