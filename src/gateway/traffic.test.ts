import { describe, expect, it } from 'vitest';
import { RecentTraffic, SLOT_MS, SLOTS } from './traffic.js';

describe('RecentTraffic', () => {
  it('counts requests and 5xx per 10 s slot, with p50 and p99 as bucket bounds', () => {
    const traffic = new RecentTraffic();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 98; i++) traffic.record('orders', 200, 3, t0);
    traffic.record('orders', 503, undefined, t0);
    traffic.record('orders', 200, 900, t0);
    traffic.record('orders', 200, 40, t0 + SLOT_MS);
    const series = traffic.series('orders', t0 + SLOT_MS)!;
    expect(series.at).toHaveLength(SLOTS);
    expect(series.requests.slice(-2)).toEqual([100, 1]);
    expect(series.errors.slice(-2)).toEqual([1, 0]);
    expect(series.p50.slice(-2)).toEqual([5, 50]);
    // Nearest rank: of 99 timed answers the 99th is the 900 ms one, in the bucket up to 1,000 ms.
    expect(series.p99.slice(-2)).toEqual([1_000, 50]);
    expect(series.requests.slice(0, -2).every((n) => n === 0)).toBe(true);
  });

  it('forgets a slot once the ring comes round to it again', () => {
    const traffic = new RecentTraffic();
    const t0 = 1_700_000_000_000;
    traffic.record('orders', 200, 3, t0);
    traffic.record('orders', 200, 3, t0 + SLOTS * SLOT_MS);
    const series = traffic.series('orders', t0 + SLOTS * SLOT_MS)!;
    expect(series.requests.reduce((a, b) => a + b)).toBe(1);
    expect(traffic.series('orders', t0 + 2 * SLOTS * SLOT_MS)!.requests.every((n) => n === 0)).toBe(true);
  });

  it('follows at most 1,000 services, so made-up names cannot grow memory', () => {
    const traffic = new RecentTraffic();
    for (let i = 0; i < 1_200; i++) traffic.record(`s${i}`, 200, 1, 0);
    expect(traffic.series('s999', 0)).toBeDefined();
    expect(traffic.series('s1000', 0)).toBeUndefined();
  });
});
