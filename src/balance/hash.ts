/**
 * Stable 32-bit hashing for rendezvous scores. Deterministic across processes and
 * runtimes (no seeds from the environment), so every isolate maps a key the same way.
 */

const TWO_POW_20 = 0x100000;
const TWO_POW_52 = 2 ** 52;

/** murmur3's finalizer: a bijection on 32 bits with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a string's UTF-16 code units; `seed` gives independent hashes of one string. */
export function hashString(text: string, seed: number): number {
  let h = seed ^ Math.imul(text.length, 0x9e3779b1);
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return fmix32(h);
}

export const SEED_HIGH = 0x2545f491;
export const SEED_LOW = 0x9e3779b9;

/**
 * A number in (0, 1) from ~52 bits of the pair (key hash, instance hash). Both halves
 * depend on both inputs, so one instance's scores are independent across keys.
 */
export function unitFromPair(keyHigh: number, keyLow: number, itemHigh: number, itemLow: number): number {
  const a = fmix32(keyHigh ^ itemHigh);
  const b = fmix32(((a + keyLow) ^ itemLow) >>> 0);
  return (a * TWO_POW_20 + (b >>> 12) + 0.5) / TWO_POW_52;
}
