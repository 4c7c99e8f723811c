import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SweptDeadlines, TIMERS, type Expiring } from './deadlines.js';

/** An entry that records when it expired (fake time). */
function entry(onExpire?: (self: Expiring) => void): Expiring & { expiredAt: number[] } {
  const self = {
    deadlineSlot: undefined as unknown,
    expiredAt: [] as number[],
    expire() {
      self.expiredAt.push(Date.now());
      onExpire?.(self);
    },
  };
  return self;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TIMERS', () => {
  it('expires an entry once its time has passed, and never once disarmed', () => {
    const [kept, dropped] = [entry(), entry()];
    TIMERS.arm(kept, 50);
    TIMERS.arm(dropped, 50);
    TIMERS.disarm(dropped);
    vi.advanceTimersByTime(49);
    expect(kept.expiredAt).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(kept.expiredAt).toEqual([50]);
    vi.advanceTimersByTime(1_000);
    expect([kept.expiredAt, dropped.expiredAt]).toEqual([[50], []]);
  });
});

describe('SweptDeadlines', () => {
  it('expires a long deadline never early and at most a tick late, whenever within a tick it was armed', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const entries: ReturnType<typeof entry>[] = [];
    for (const offset of [0, 1, 50, 99]) {
      vi.advanceTimersByTime(offset);
      const e = entry();
      entries.push(e);
      deadlines.arm(e, 1_000);
    }
    vi.advanceTimersByTime(2_000);
    for (const [i, e] of entries.entries()) {
      const armedAt = [0, 1, 51, 150][i]!;
      expect(e.expiredAt).toHaveLength(1);
      expect(e.expiredAt[0]! - armedAt).toBeGreaterThanOrEqual(1_000);
      expect(e.expiredAt[0]! - armedAt).toBeLessThanOrEqual(1_100);
    }
  });

  it('lets go of a disarmed entry at once and stops ticking when nothing is armed', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const e = entry();
    deadlines.arm(e, 5_000);
    expect([deadlines.size, vi.getTimerCount()]).toEqual([1, 1]);
    deadlines.disarm(e);
    expect(deadlines.size).toBe(0);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(e.expiredAt).toEqual([]);
  });

  it('expires each armed entry once and no disarmed one, whichever were disarmed among many', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const entries = Array.from({ length: 200 }, () => entry());
    entries.forEach((e, i) => deadlines.arm(e, 1_000 + (i % 7) * 300));
    const dropped = new Set(entries.filter((_, i) => i % 3 === 0 || i === 199));
    for (const e of dropped) deadlines.disarm(e);
    expect(deadlines.size).toBe(200 - dropped.size);
    vi.advanceTimersByTime(5_000);
    for (const e of entries) expect(e.expiredAt).toHaveLength(dropped.has(e) ? 0 : 1);
    expect(deadlines.size).toBe(0);
  });

  it('gives a short deadline a timer of its own, exact', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100, minMs: 1_000 });
    const e = entry();
    deadlines.arm(e, 30);
    expect(deadlines.size).toBe(0);
    vi.advanceTimersByTime(30);
    expect(e.expiredAt).toEqual([30]);
    const dropped = entry();
    deadlines.arm(dropped, 30);
    deadlines.disarm(dropped);
    vi.advanceTimersByTime(100);
    expect(dropped.expiredAt).toEqual([]);
  });

  it('lets an entry arm itself again as it expires, and expires an entry armed twice once per arming', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const again = entry((self) => {
      if (again.expiredAt.length === 1) deadlines.arm(self, 1_000);
    });
    deadlines.arm(again, 1_000);
    const twice = entry();
    deadlines.arm(twice, 1_000);
    deadlines.disarm(twice);
    deadlines.arm(twice, 2_000);
    vi.advanceTimersByTime(5_000);
    expect(again.expiredAt).toHaveLength(2);
    expect(again.expiredAt[1]! - again.expiredAt[0]!).toBeGreaterThanOrEqual(1_000);
    expect(twice.expiredAt).toHaveLength(1);
    expect(twice.expiredAt[0]).toBeGreaterThanOrEqual(2_000);
  });

  it('skips a due entry that another due one disarmed before its turn', () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const second = entry();
    const first = entry(() => deadlines.disarm(second));
    deadlines.arm(second, 1_000);
    deadlines.arm(first, 1_000);
    vi.advanceTimersByTime(2_000);
    expect([first.expiredAt.length, second.expiredAt.length]).toEqual([1, 0]);
  });

  it('tells onError about an entry whose expire throws, and still expires the others', () => {
    const errors: unknown[] = [];
    const deadlines = new SweptDeadlines({ tickMs: 100, onError: (error) => errors.push(error) });
    const broken = entry(() => {
      throw new Error('broken');
    });
    const fine = entry();
    deadlines.arm(broken, 1_000);
    deadlines.arm(fine, 1_000);
    vi.advanceTimersByTime(1_300);
    expect(errors).toEqual([new Error('broken')]);
    expect(fine.expiredAt).toHaveLength(1);
  });
});

describe('SweptDeadlines on a lagging event loop', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('is late by a tick and one turn of the lag, not by the lag of every tick (real timers)', async () => {
    const deadlines = new SweptDeadlines({ tickMs: 100 });
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    // Every 10 ms the loop is held for 60 ms, as a busy gateway holds it; counting ticks instead of time made this ~1.5 s.
    const lag = setInterval(() => Atomics.wait(sleeper, 0, 0, 60), 10);
    const armedAt = performance.now();
    const fired = await new Promise<number>((resolve) => {
      const e: Expiring = { deadlineSlot: undefined, expire: () => resolve(performance.now()) };
      deadlines.arm(e, 1_000);
    });
    clearInterval(lag);
    expect(fired - armedAt).toBeGreaterThanOrEqual(1_000);
    expect(fired - armedAt).toBeLessThan(1_400);
  });
});
