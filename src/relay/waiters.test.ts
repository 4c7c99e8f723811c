import { afterEach, describe, expect, it, vi } from 'vitest';
import { Waiters } from './waiters.js';

afterEach(() => vi.useRealTimers());

describe('Waiters', () => {
  it('wakes a waiter when its service moves to another revision, found by polling', async () => {
    vi.useFakeTimers();
    let revision = 5;
    const waiters = new Waiters({ pollMs: 100, check: () => revision });
    const changed = waiters.wait('orders', 5, 10_000);
    await vi.advanceTimersByTimeAsync(300);
    expect(waiters.size).toBe(1);
    revision = 6;
    await vi.advanceTimersByTimeAsync(100);
    await expect(changed).resolves.toBe(true);
    expect(waiters.size).toBe(0);
  });

  it('times out unchanged, and stops polling once nobody waits', async () => {
    vi.useFakeTimers();
    const check = vi.fn(() => 5);
    const waiters = new Waiters({ pollMs: 100, check });
    const changed = waiters.wait('orders', 5, 250);
    await vi.advanceTimersByTimeAsync(250);
    await expect(changed).resolves.toBe(false);
    const calls = check.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check.mock.calls.length).toBe(calls);
  });

  it('releases a waiter whose client went away, leaving the others', async () => {
    vi.useFakeTimers();
    const waiters = new Waiters({ pollMs: 100, check: () => 5 });
    const gone = new AbortController();
    const first = waiters.wait('orders', 5, 10_000, gone.signal);
    const second = waiters.wait('orders', 5, 10_000);
    gone.abort();
    await expect(first).resolves.toBe(false);
    expect(waiters.size).toBe(1);
    waiters.notify('orders', 7);
    await expect(second).resolves.toBe(true);
    expect(waiters.size).toBe(0);
  });

  it('answers at once for a signal already aborted, and ends every wait on close', async () => {
    const waiters = new Waiters({ pollMs: 100, check: () => undefined });
    await expect(waiters.wait('a', 1, 10_000, AbortSignal.abort())).resolves.toBe(false);
    const held = [waiters.wait('a', 1, 10_000), waiters.wait('b', 1, 10_000)];
    waiters.close();
    await expect(Promise.all(held)).resolves.toEqual([false, false]);
    expect(waiters.size).toBe(0);
  });

  it('does not wake waiters for the revision they hold, nor when a check fails', async () => {
    vi.useFakeTimers();
    const waiters = new Waiters({ pollMs: 100, check: () => Promise.reject(new Error('etcd down')) });
    let settled = false;
    void waiters.wait('orders', 5, 1_000).then(() => (settled = true));
    waiters.notify('orders', 5);
    await vi.advanceTimersByTimeAsync(500);
    expect(settled).toBe(false);
    waiters.close();
  });
});
