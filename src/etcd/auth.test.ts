import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenSource } from './auth.js';

afterEach(() => vi.useRealTimers());

describe('TokenSource', () => {
  it('shares one login among callers', async () => {
    let logins = 0;
    const tokens = new TokenSource(async () => `t${++logins}`);
    expect(await Promise.all([tokens.token(), tokens.token(), tokens.token()])).toEqual(['t1', 't1', 't1']);
    expect(logins).toBe(1);
  });

  it('never lets a caller wait past the bound on a login that will not settle (its request ended on Workers), and starts a new one after it', async () => {
    vi.useFakeTimers();
    const lost = new Promise<string>(() => undefined);
    const attempts: Promise<string>[] = [lost, Promise.resolve('fresh')];
    let logins = 0;
    const tokens = new TokenSource(() => attempts[logins++]!, 1_000);
    const waiting = tokens.token();
    const outcome = waiting.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toBe('ETCD_TIMEOUT');
    expect(await tokens.token()).toBe('fresh');
    expect(logins).toBe(2);
  });

  it('keeps a login younger than the bound shared', async () => {
    vi.useFakeTimers();
    let release: (token: string) => void = () => undefined;
    let logins = 0;
    const tokens = new TokenSource(() => {
      logins++;
      return new Promise<string>((resolve) => (release = resolve));
    }, 1_000);
    const first = tokens.token();
    await vi.advanceTimersByTimeAsync(500);
    const second = tokens.token();
    release('t');
    expect(await Promise.all([first, second])).toEqual(['t', 't']);
    expect(logins).toBe(1);
  });
});
