import { describe, expect, it } from 'vitest';
import { closeFrame, FrameBoundaries } from './websocket-relay.js';

/** A frame with `length` payload bytes (masked or not), header as RFC 6455 §5.2 writes it. */
function frame(opcode: number, length: number, masked: boolean): Buffer {
  const mask = masked ? 0x80 : 0;
  const header =
    length < 126 ? [0x80 | opcode, mask | length]
    : length < 65_536 ? [0x80 | opcode, mask | 126, length >> 8, length & 0xff]
    : [0x80 | opcode, mask | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
  return Buffer.concat([Buffer.from(header), Buffer.alloc(masked ? 4 : 0, 7), Buffer.alloc(length, 1)]);
}

describe('FrameBoundaries', () => {
  it('finds boundaries across 7-, 16- and 64-bit lengths, masked or not, fed byte by byte', () => {
    const stream = Buffer.concat([frame(1, 5, true), frame(2, 300, false), frame(2, 70_000, true), frame(8, 2, false)]);
    const frames = new FrameBoundaries();
    const boundaries: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      frames.read(stream.subarray(i, i + 1), false);
      if (frames.atBoundary) boundaries.push(i + 1);
    }
    expect(boundaries).toEqual([11, 11 + 304, 11 + 304 + 70_014, stream.length]);
    expect(frames.closeSeen).toBe(true);
  });

  it('stops at the first boundary when asked, so a close frame can go between two frames', () => {
    const frames = new FrameBoundaries();
    const first = frame(1, 10, false);
    expect(frames.read(first.subarray(0, 4), true)).toBe(4);
    expect(frames.atBoundary).toBe(false);
    const rest = Buffer.concat([first.subarray(4), frame(1, 3, false)]);
    expect(frames.read(rest, true)).toBe(first.length - 4);
    expect(frames.atBoundary).toBe(true);
    expect(frames.closeSeen).toBe(false);
  });

  it('writes close frames a peer reads back: unmasked to clients, masked to instances', () => {
    const plain = closeFrame(1001, 'going away', false);
    expect([...plain.subarray(0, 4)]).toEqual([0x88, 12, 0x03, 0xe9]);
    expect(plain.subarray(4).toString()).toBe('going away');
    const masked = closeFrame(1001, 'going away', true);
    expect(masked[1]).toBe(0x80 | 12);
    const key = masked.subarray(2, 6);
    const payload = Buffer.from(masked.subarray(6).map((b, i) => b ^ key[i % 4]!));
    expect(payload.readUInt16BE(0)).toBe(1001);
    expect(payload.subarray(2).toString()).toBe('going away');
  });
});
