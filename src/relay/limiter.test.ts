import { describe, expect, it } from 'vitest';
import { PollSlots, RateLimiter } from './limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate and says how long to wait', () => {
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3, maxClients: 10 });
    expect([0, 0, 0].map(() => limiter.take('a', 1000))).toEqual([0, 0, 0]);
    expect(limiter.take('a', 1000)).toBe(1);
    expect(limiter.take('b', 1000)).toBe(0);
    expect(limiter.take('a', 1500)).toBe(0);
    expect(limiter.take('a', 1500)).toBe(1);
  });

  it('never holds more than a burst, however long the client was quiet', () => {
    const limiter = new RateLimiter({ ratePerSecond: 100, burst: 2, maxClients: 10 });
    limiter.take('a', 0);
    const answers = [0, 0, 0].map(() => limiter.take('a', 1_000_000));
    expect(answers).toEqual([0, 0, 1]);
  });

  it('forgets the least recently seen client beyond maxClients', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxClients: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0);
    expect(limiter.size).toBe(2);
    // 'a' was forgotten: a full bucket again; 'c' is still empty.
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('c', 0)).toBe(1);
  });

  it('refuses nonsense options', () => {
    expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1, maxClients: 1 })).toThrow(RangeError);
  });
});

describe('PollSlots', () => {
  it('caps held long-polls per client and in total; a release is counted once', () => {
    const slots = new PollSlots(2, 3);
    const a1 = slots.acquire('a')!;
    const a2 = slots.acquire('a')!;
    expect(slots.acquire('a')).toBeUndefined();
    const b1 = slots.acquire('b')!;
    expect(slots.acquire('c')).toBeUndefined();
    a1();
    a1();
    expect(slots.count).toBe(2);
    expect(slots.acquire('c')).toBeDefined();
    a2();
    b1();
    expect(slots.count).toBe(1);
  });
});
