import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, fromBase64, jsonBytes, parseJson, prefixEnd, toBase64, toBytes, utf8 } from './bytes.js';

const bytes = fc.uint8Array({ maxLength: 64 });

describe('bytes', () => {
  it('base64 round-trips any bytes and agrees with a reference encoder', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const text = toBase64(b);
        expect(text).toBe(Buffer.from(b).toString('base64'));
        expect([...fromBase64(text)]).toEqual([...b]);
      }),
    );
  });

  it('base64 handles values larger than one encoding chunk', () => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    expect([...fromBase64(toBase64(big))]).toEqual([...big]);
  });

  it('rejects text that is not base64 with a TypeError', () => {
    expect(() => fromBase64('%%%')).toThrow(TypeError);
  });

  it('UTF-8 and JSON round-trip any string, and invalid UTF-8 is refused', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(utf8(toBytes(s))).toBe(s);
        expect(parseJson(jsonBytes({ s }))).toEqual({ s });
      }),
    );
    expect(() => utf8(new Uint8Array([0xff, 0xfe]))).toThrow(TypeError);
  });

  it('prefixEnd bounds exactly the keys that start with the prefix', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 6 }).map((p) => (p.length % 2 ? p.map((x) => x | 0xf0) : p)),
        fc.uint8Array({ maxLength: 8 }),
        (prefix, key) => {
          const end = prefixEnd(prefix);
          const unbounded = end.length === 1 && end[0] === 0;
          const inRange = compareBytes(key, prefix) >= 0 && (unbounded || compareBytes(key, end) < 0);
          const startsWith = key.length >= prefix.length && prefix.every((b, i) => key[i] === b);
          expect(inRange).toBe(startsWith);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('prefixEnd drops trailing 0xff bytes, and an all-0xff prefix has no bound', () => {
    expect([...prefixEnd(new Uint8Array([0x61, 0xff, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd('a/')]).toEqual([0x61, 0x30]);
    expect([...prefixEnd(new Uint8Array([0xff, 0xff]))]).toEqual([0]);
    expect([...prefixEnd('')]).toEqual([0]);
  });
});
