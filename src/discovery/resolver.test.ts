import { afterEach, describe, expect, it, vi } from 'vitest';
import { until } from '../testing/internal/until.js';
import { EtcdClient, EtcdUnavailableError, type FetchLike } from '../etcd/index.js';
import { grpcNamingLayout, kitexLayout, nativeLayout, type Registration, type SkippedRecord } from '../registry/index.js';
import { FakeEtcd } from '../testing/index.js';
import { Resolver } from './resolver.js';
import type { ResolverOptions } from './resolver-options.js';

const native = nativeLayout();
const fakes: FakeEtcd[] = [];
const resolvers: Resolver[] = [];

afterEach(() => {
  resolvers.splice(0).forEach((r) => r.close());
  fakes.splice(0).forEach((f) => f.close());
});

function setup(options: Partial<ResolverOptions> = {}) {
  const fake = new FakeEtcd();
  fakes.push(fake);
  const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch, timeoutMs: 300, endpointCooldownMs: 0 });
  const clock = { now: 1_000_000 };
  const resolver = new Resolver({ etcd, now: () => clock.now, ...options });
  resolvers.push(resolver);
  const ranges = (): number => fake.calls.get('/v3/kv/range') ?? 0;
  const add = async (registration: Registration, layout = native): Promise<void> => {
    const record = layout.encode(registration);
    await etcd.put(record.key, record.value);
  };
  return { fake, etcd, clock, resolver, ranges, add };
}


describe('Resolver (cache mode)', () => {
  it('serves a fresh snapshot from memory, then stale while one background refresh runs', async () => {
    const { clock, resolver, ranges, add } = setup();
    await add({ service: 'orders', url: '10.0.0.1:80', weight: 3, tags: { zone: 'fra' } });
    const first = await resolver.resolve('orders');
    expect(first.instances).toMatchObject([{ url: 'http://10.0.0.1:80', weight: 3, tags: { zone: 'fra' } }]);
    expect(Object.isFrozen(first) && Object.isFrozen(first.instances)).toBe(true);
    clock.now += 1_999;
    expect(await resolver.resolve('orders')).toBe(first);
    expect(ranges()).toBe(1);

    await add({ service: 'orders', url: '10.0.0.2:80' });
    clock.now += 2;
    const background: Promise<unknown>[] = [];
    const stale = await Promise.all([1, 2, 3].map(() => resolver.resolve('orders', { waitUntil: (p) => background.push(p) })));
    expect(stale.every((s) => s === first)).toBe(true);
    expect(background).toHaveLength(1);
    await background[0];
    expect(ranges()).toBe(2);
    expect((await resolver.resolve('orders')).instances.map((i) => i.url)).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80']);
    expect(resolver.stats).toMatchObject({ hits: 2, misses: 1, staleServes: 3, refreshes: 2 });
  });

  it('keeps the instance list across refreshes that find nothing changed, and reuses unchanged instances', async () => {
    const { clock, resolver, ranges, add, etcd } = setup({ staleWhileRevalidateMs: 0 });
    await add({ service: 'orders', url: '10.0.0.1:80' });
    await add({ service: 'orders', url: '10.0.0.2:80' });
    const first = await resolver.resolve('orders');
    await etcd.put('services/elsewhere/x', '{"Addr":"10.9.9.9:80"}');
    clock.now += 5_000;
    const same = await resolver.resolve('orders');
    expect(ranges()).toBe(2);
    expect(same.instances).toBe(first.instances);
    expect(same.fetchedAt).toBe(clock.now);
    expect(same.revision).toBeGreaterThan(first.revision);
    expect(resolver.status('orders')).toMatchObject({ snapshot: same, currentAt: clock.now, watched: false });
    await add({ service: 'orders', url: '10.0.0.2:80', weight: 4 });
    clock.now += 5_000;
    const changed = await resolver.resolve('orders');
    expect(changed).not.toBe(first);
    expect(changed.instances[0]).toBe(first.instances[0]);
    expect(changed.instances[1]).toMatchObject({ url: 'http://10.0.0.2:80', weight: 4 });
  });

  it('makes one range for 500 concurrent lookups of a cold service', async () => {
    const { resolver, ranges, add } = setup();
    await add({ service: 'orders', url: '10.0.0.1:80' });
    const snapshots = await Promise.all(Array.from({ length: 500 }, () => resolver.resolve('orders')));
    expect(ranges()).toBe(1);
    expect(new Set(snapshots).size).toBe(1);
  });

  it('serves the last snapshot while etcd is down, up to staleIfError, and picks up changes after', async () => {
    const { fake, clock, resolver, add } = setup();
    await add({ service: 'orders', url: '10.0.0.1:80' });
    const first = await resolver.resolve('orders');
    fake.faults().down = true;
    clock.now += 60_000;
    expect(await resolver.resolve('orders')).toBe(first);
    // Known to be failing: served at once, no wait for another failing read.
    const started = Date.now();
    expect(await resolver.resolve('orders')).toBe(first);
    // A read that waited would take the fake's failure time; the bound leaves room for a pause of the test process.
    expect(Date.now() - started).toBeLessThan(500);
    await expect(resolver.resolve('payments')).rejects.toBeInstanceOf(EtcdUnavailableError);
    // Within errorBackoffMs a cold name gets the same answer without another read.
    const refreshes = resolver.stats.refreshes;
    await expect(resolver.resolve('payments')).rejects.toBeInstanceOf(EtcdUnavailableError);
    expect(resolver.stats.refreshes).toBe(refreshes);
    clock.now += 600_000;
    await expect(resolver.resolve('orders')).rejects.toBeInstanceOf(EtcdUnavailableError);

    fake.faults().down = false;
    await add({ service: 'orders', url: '10.0.0.9:80' });
    expect((await resolver.resolve('orders')).instances.map((i) => i.url)).toContain('http://10.0.0.9:80');
    expect(resolver.stats.staleIfErrorServes).toBeGreaterThanOrEqual(2);
  });

  it('remembers a service with no instances for negativeTtl only', async () => {
    const { clock, resolver, ranges, add } = setup();
    expect((await resolver.resolve('ghost')).instances).toEqual([]);
    clock.now += 999;
    await resolver.resolve('ghost');
    expect(ranges()).toBe(1);
    await add({ service: 'ghost', url: '10.0.0.1:80' });
    clock.now += 1;
    await resolver.resolve('ghost');
    await until(() => ranges() === 2);
  });

  it('keeps at most maxServices snapshots, dropping the least recently used', async () => {
    const { resolver, ranges } = setup({ maxServices: 2 });
    await resolver.resolve('a');
    await resolver.resolve('b');
    await resolver.resolve('a');
    await resolver.resolve('c');
    expect(ranges()).toBe(3);
    expect(resolver.peek('b')).toBeUndefined();
    expect(resolver.peek('a')).toBeDefined();
  });

  it('rejects names no layout can hold, without asking etcd', async () => {
    const { resolver, ranges } = setup();
    for (const name of ['', '..', 'a/b', 'x'.repeat(129)]) {
      await expect(resolver.resolve(name)).rejects.toMatchObject({ code: 'INVALID_SERVICE' });
    }
    expect(ranges()).toBe(0);
  });

  it('merges several layouts into one snapshot and reports each bad record once', async () => {
    const skipped: SkippedRecord[] = [];
    const layouts = [native, grpcNamingLayout(), kitexLayout()];
    const { etcd, clock, resolver, add } = setup({ layouts: ['native', 'grpc-naming', 'kitex'], onSkipped: (r) => skipped.push(r) });
    await add({ service: 'echo', url: '10.0.0.1:80' });
    await add({ service: 'echo', url: '10.0.0.2:80', weight: 2 }, layouts[1]);
    await add({ service: 'echo', url: '10.0.0.3:8888', weight: 7 }, layouts[2]);
    await etcd.put('echo/10.0.0.4', 'not json');
    const snapshot = await resolver.resolve('echo');
    expect(snapshot.instances.map((i) => [i.layout, i.url, i.weight])).toEqual([
      ['grpc-naming', 'http://10.0.0.2:80', 2],
      ['kitex', 'http://10.0.0.3:8888', 7],
      ['native', 'http://10.0.0.1:80', 1],
    ]);
    expect(snapshot.skipped).toEqual([{ key: 'echo/10.0.0.4', layout: 'grpc-naming', reason: 'value is not valid UTF-8 JSON' }]);
    clock.now += 10_000;
    await resolver.resolve('echo');
    clock.now += 100_000;
    await resolver.resolve('echo');
    expect(skipped).toHaveLength(1);
    expect(resolver.stats.skippedRecords).toBe(1);
  });
});

describe('Resolver (watch mode)', () => {
  it('answers resolveNow without a promise while a snapshot can be served as it is, in either mode', async () => {
    for (const watch of [false, true]) {
      const { clock, resolver, add } = setup({ watch, cacheTtlMs: 2_000, staleWhileRevalidateMs: 0 });
      await add({ service: 'orders', url: '10.0.0.1:80' });
      // The first read waits for etcd.
      const first = resolver.resolveNow('orders');
      expect(first).toBeInstanceOf(Promise);
      const snapshot = await first;
      if (watch) await until(() => !(resolver.resolveNow('orders') instanceof Promise));
      const again = resolver.resolveNow('orders');
      expect(again).not.toBeInstanceOf(Promise);
      expect((again as typeof snapshot).instances).toEqual(snapshot.instances);
      expect(() => resolver.resolveNow('bad name')).toThrow(/service/);
      // Past the TTL, cache mode waits for a read again; a watched service is still current.
      clock.now += 60_000;
      const late = resolver.resolveNow('orders');
      expect(late instanceof Promise).toBe(!watch);
      await late;
    }
  });

  it('keeps a snapshot current with no range in steady state', async () => {
    const { clock, resolver, ranges, add, etcd } = setup({ watch: true });
    await add({ service: 'orders', url: '10.0.0.1:80' });
    await resolver.resolve('orders');
    await resolver.resolve('payments-never-registered');
    const before = ranges();
    await add({ service: 'orders', url: '10.0.0.2:80', weight: 0 });
    await until(async () => (await resolver.resolve('orders')).instances.length === 2);
    await etcd.delete('services/orders/10.0.0.1:80');
    await until(async () => (await resolver.resolve('orders')).instances.length === 1);
    for (let minute = 0; minute < 60; minute++) {
      clock.now += 60_000;
      expect((await resolver.resolve('orders')).instances).toMatchObject([{ url: 'http://10.0.0.2:80', weight: 0 }]);
    }
    expect(ranges()).toBe(before);
    expect(resolver.watchCount).toBe(1);
  });

  it('resyncs after a compaction without losing a change', async () => {
    const { fake, resolver, ranges, add } = setup({ watch: true });
    await add({ service: 'orders', url: '10.0.0.1:80' });
    await resolver.resolve('orders');
    const record = native.encode({ service: 'orders', url: '10.0.0.7:80' });
    // Break the stream, then change and compact before the watch can resume.
    await until(() => fake.breakWatchStreams('error') > 0);
    fake.store.write(() => fake.store.put(record.key, new TextEncoder().encode(record.value), '0'));
    fake.store.write(() => fake.store.delete('services/orders/10.0.0.1:80', undefined));
    fake.store.compact(fake.store.revision);
    await until(async () => (await resolver.resolve('orders')).instances.map((i) => i.url).join() === 'http://10.0.0.7:80');
    expect(ranges()).toBe(2);
    await add({ service: 'orders', url: '10.0.0.8:80' });
    await until(async () => (await resolver.resolve('orders')).instances.length === 2);
  });

  it('reads a service again soon when its watch was lost and the read to replace it failed', async () => {
    const fake = new FakeEtcd();
    fakes.push(fake);
    const failing = { ranges: false };
    const fetch: FetchLike = async (url, init) => {
      if (failing.ranges && url.endsWith('/v3/kv/range')) throw new TypeError('fetch failed');
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, timeoutMs: 300, endpointCooldownMs: 0 });
    const clock = { now: 1_000_000 };
    // cacheTtl governs cache mode: it must not keep an unwatched snapshot from being read again.
    const resolver = new Resolver({ etcd, watch: true, cacheTtlMs: 3_600_000, now: () => clock.now });
    resolvers.push(resolver);
    const first = native.encode({ service: 'orders', url: '10.0.0.1:80' });
    const second = native.encode({ service: 'orders', url: '10.0.0.2:80' });
    await etcd.put(first.key, first.value);
    await resolver.resolve('orders');
    failing.ranges = true;
    await until(() => fake.breakWatchStreams('error') > 0);
    await etcd.put(second.key, second.value);
    await etcd.delete(first.key);
    fake.store.compact(fake.store.revision);
    await until(() => resolver.stats.refreshFailures === 1);
    failing.ranges = false;
    clock.now += 1_000;
    await until(async () => (await resolver.resolve('orders')).instances.map((i) => i.url).join() === 'http://10.0.0.2:80', 3_000);
    await until(() => resolver.status('orders')?.watched === true, 3_000);
  });

  it('reads again within a second a snapshot no watch keeps current, however long cacheTtl is', async () => {
    const { clock, resolver, add } = setup({ watch: true, cacheTtlMs: 3_600_000 });
    await add({ service: 'orders', url: '10.0.0.1:80' });
    await resolver.resolve('orders');
    resolver.close(); // from here reads cannot be tracked
    await add({ service: 'orders', url: '10.0.0.2:80' });
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    clock.now += 1_500;
    await until(async () => (await resolver.resolve('orders')).instances.length === 2, 3_000);
  });

  it('settles a first read that was untracked meanwhile, and opens no watch after close', async () => {
    const { fake, resolver, ranges, add } = setup({ watch: true, layouts: [grpcNamingLayout()], maxServices: 1 });
    await add({ service: 'orders', url: '10.0.0.1:80' }, grpcNamingLayout());
    fake.faults().delayMs = 50;
    const evicted = resolver.resolve('orders');
    const other = resolver.resolve('users'); // evicts orders while its read is in flight
    expect((await evicted).instances).toHaveLength(1);
    await other;
    const closing = resolver.resolve('late');
    resolver.close();
    await closing;
    fake.faults().delayMs = 0;
    await resolver.resolve('orders');
    await new Promise((r) => setTimeout(r, 100));
    expect(resolver.watchCount).toBe(0);
    expect(ranges()).toBeLessThan(10);
  });

  it('opens no watch for unknown names and releases the watch of an evicted service', async () => {
    const grpc = grpcNamingLayout();
    const { resolver, add } = setup({ watch: true, layouts: [grpc], maxServices: 1 });
    await add({ service: 'a', url: '10.0.0.1:80' }, grpc);
    await add({ service: 'b', url: '10.0.0.2:80' }, grpc);
    await resolver.resolve('nobody');
    expect(resolver.watchCount).toBe(0);
    await resolver.resolve('a');
    expect(resolver.watchCount).toBe(1);
    await resolver.resolve('b');
    expect(resolver.watchCount).toBe(1);
    expect(resolver.status('a')).toBeUndefined();
    expect(resolver.status('b')).toMatchObject({ watched: true });
  });

  it('serves a watched snapshot while its watch is down, up to staleIfError, then fails', async () => {
    const { fake, clock, resolver, add } = setup({ watch: true, staleIfErrorMs: 60_000 });
    await add({ service: 'orders', url: '10.0.0.1:80' });
    await resolver.resolve('orders');
    fake.faults().down = true;
    await until(() => fake.breakWatchStreams('error') > 0);
    await until(() => resolver.status('orders')?.watchDownSince !== undefined);
    clock.now += 30_000;
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    expect(resolver.stats.staleIfErrorServes).toBe(1);
    clock.now += 31_000;
    await expect(resolver.resolve('orders')).rejects.toBeInstanceOf(EtcdUnavailableError);
  });

  it('resumes a watch within 2 s of etcd answering again, however long it was down', async () => {
    const fake = new FakeEtcd();
    fakes.push(fake);
    let watchAttempts = 0;
    const fetch: FetchLike = (url, init) => {
      if (url.endsWith('/v3/watch')) watchAttempts++;
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, timeoutMs: 300, endpointCooldownMs: 0 });
    const resolver = new Resolver({ etcd, watch: true });
    resolvers.push(resolver);
    const add = async (url: string): Promise<void> => {
      const record = native.encode({ service: 'orders', url });
      await etcd.put(record.key, record.value);
    };
    await add('10.0.0.1:80');
    await resolver.resolve('orders');
    fake.faults().down = true;
    await until(() => fake.breakWatchStreams('error') > 0);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Long enough for the reconnect backoff to reach its ceiling.
      await vi.advanceTimersByTimeAsync(60_000);
      expect(resolver.status('orders')?.watchDownSince).toBeDefined();
      // etcd comes back just after a failed attempt: the longest wait for the next one.
      const attempts = watchAttempts;
      for (let step = 0; step < 1_000 && watchAttempts === attempts; step++) await vi.advanceTimersByTimeAsync(10);
      fake.faults().down = false;
      await vi.advanceTimersByTimeAsync(2_000);
    } finally {
      vi.useRealTimers();
    }
    await until(() => resolver.status('orders')?.watchDownSince === undefined, 1_000);
    await add('10.0.0.2:80');
    await until(async () => (await resolver.resolve('orders')).instances.length === 2, 1_000);
  });

  it('reopens a watch that went silent, and treats it as down until it is back', async () => {
    const fake = new FakeEtcd();
    fakes.push(fake);
    // Watch requests wait at `gate` while it is shut: a silent stream can then be dropped but not replaced.
    let watchAttempts = 0;
    let gate = Promise.resolve();
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/watch')) {
        watchAttempts++;
        await gate;
      }
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, timeoutMs: 300, endpointCooldownMs: 0 });
    const resolver = new Resolver({ etcd, watch: true, watchSilenceMs: 100 });
    resolvers.push(resolver);
    const add = async (url: string): Promise<void> => {
      const record = native.encode({ service: 'orders', url });
      await etcd.put(record.key, record.value);
    };
    await add('10.0.0.1:80');
    await resolver.resolve('orders');
    await until(() => (fake.calls.get('/v3/watch') ?? 0) > 0);
    expect(resolver.status('orders')).toMatchObject({ watched: true });
    expect(resolver.status('orders')?.watchDownSince).toBeUndefined();
    let open = (): void => undefined;
    gate = new Promise((resolve) => (open = resolve));
    const opened = watchAttempts;
    await until(() => watchAttempts > opened, 3_000);
    // Down from the moment the silent stream was dropped: no longer current, served as stale-if-error.
    const down = resolver.status('orders');
    expect(down?.watchDownSince).toBeDefined();
    expect(down?.currentAt).toBe(down?.watchDownSince);
    const served = resolver.stats.staleIfErrorServes;
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    expect(resolver.stats.staleIfErrorServes).toBe(served + 1);
    gate = Promise.resolve();
    open();
    await until(() => resolver.status('orders')?.watchDownSince === undefined, 3_000);
    const hits = resolver.stats.hits;
    await add('10.0.0.2:80');
    await until(async () => (await resolver.resolve('orders')).instances.length === 2, 3_000);
    expect(resolver.stats.staleIfErrorServes).toBe(served + 1);
    expect(resolver.stats.hits).toBeGreaterThan(hits);
  });

  it('does not read another layout\'s tree as a grpc-naming service', async () => {
    const { resolver, add, ranges } = setup({ watch: true, layouts: [native, grpcNamingLayout()] });
    await add({ service: 'billing', url: '10.0.0.1:80' });
    expect((await resolver.resolve('services')).instances).toEqual([]);
    expect(ranges()).toBe(1);
  });

  it('shares one watch per layout prefix, one per service without one, and releases idle services', async () => {
    const { clock, resolver, add } = setup({ watch: true, layouts: [native, grpcNamingLayout()], watchIdleMs: 60_000 });
    for (const service of ['a', 'b', 'c']) await add({ service, url: '10.0.0.1:80' });
    await Promise.all(['a', 'b', 'c'].map((s) => resolver.resolve(s)));
    expect(resolver.watchCount).toBe(1 + 3);
    clock.now += 30_000;
    await resolver.resolve('a');
    clock.now += 40_000;
    await resolver.resolve('a');
    expect(resolver.watchCount).toBe(1 + 1);
  });
});

describe('Resolver (reads bounded by refreshTimeoutMs)', () => {
  const BOUND_MS = 50;

  /** A resolver whose range calls `hold` can stop: released later (a slow etcd) or never (a Worker's cancelled I/O). */
  function bounded(options: Partial<ResolverOptions> = {}) {
    const fake = new FakeEtcd();
    fakes.push(fake);
    const gates: Promise<void>[] = [];
    const hold = (): (() => void) => {
      let open = (): void => undefined;
      gates.push(new Promise<void>((resolve) => (open = resolve)));
      return open;
    };
    const fetch: FetchLike = async (url, init) => {
      const gate = url.endsWith('/v3/kv/range') ? gates.shift() : undefined;
      if (gate) await gate;
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, timeoutMs: 300, endpointCooldownMs: 0 });
    const clock = { now: 1_000_000 };
    const resolver = new Resolver({ etcd, refreshTimeoutMs: BOUND_MS, now: () => clock.now, ...options });
    resolvers.push(resolver);
    const add = async (url: string): Promise<void> => {
      const record = native.encode({ service: 'orders', url });
      await etcd.put(record.key, record.value);
    };
    return { hold, clock, resolver, add };
  }

  it('answers ETCD_TIMEOUT at the bound to lookups with nothing to serve, and the next lookup reads again', async () => {
    const { hold, clock, resolver, add } = bounded();
    await add('10.0.0.1:80');
    hold();
    const started = Date.now();
    const waiting = [resolver.resolve('orders'), resolver.resolve('orders')];
    for (const lookup of waiting) await expect(lookup).rejects.toMatchObject({ code: 'ETCD_TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(resolver.stats.refreshes).toBe(1);
    clock.now += BOUND_MS;
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    expect(resolver.stats).toMatchObject({ refreshes: 2, refreshFailures: 1 });
  });

  it('serves the stale snapshot at the bound to a lookup past stale-while-revalidate', async () => {
    const { hold, clock, resolver, add } = bounded({ staleWhileRevalidateMs: 0 });
    await add('10.0.0.1:80');
    const first = await resolver.resolve('orders');
    hold();
    clock.now += 10_000;
    expect(await resolver.resolve('orders')).toBe(first);
    expect(resolver.stats.staleIfErrorServes).toBe(1);
  });

  it('gives up a lost background refresh once past the bound, so changes are seen again', async () => {
    const { hold, clock, resolver, add } = bounded();
    await add('10.0.0.1:80');
    await resolver.resolve('orders');
    hold();
    clock.now += 2_000;
    const kept: Promise<unknown>[] = [];
    // Stale: served at once; the refresh it starts is lost.
    expect((await resolver.resolve('orders', { waitUntil: (p) => kept.push(p) })).instances).toHaveLength(1);
    await add('10.0.0.2:80');
    clock.now += BOUND_MS - 1;
    await resolver.resolve('orders');
    expect(resolver.stats.refreshes).toBe(2);
    clock.now += 1;
    // Past the bound: still served stale at once, and a new read starts.
    expect((await resolver.resolve('orders', { waitUntil: (p) => kept.push(p) })).instances).toHaveLength(1);
    expect(kept).toHaveLength(2);
    await kept[1];
    expect((await resolver.resolve('orders')).instances).toHaveLength(2);
    expect(resolver.stats.refreshFailures).toBe(1);
  });

  it('hands the read a waiting lookup starts to waitUntil too: other lookups may be sharing it', async () => {
    const { resolver, add } = bounded();
    await add('10.0.0.1:80');
    const kept: Promise<unknown>[] = [];
    await resolver.resolve('orders', { waitUntil: (p) => kept.push(p) });
    expect(kept).toHaveLength(1);
  });

  it('keeps what a read given up on brings when it settles after all, unless a newer read landed first', async () => {
    const { hold, clock, resolver, add } = bounded({ staleWhileRevalidateMs: 0 });
    await add('10.0.0.1:80');
    await resolver.resolve('orders');
    await add('10.0.0.2:80');
    const slow = hold();
    clock.now += 2_000;
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    hold();
    clock.now += BOUND_MS;
    await resolver.resolve('orders'); // gives the slow read up; the next one is lost
    slow();
    await until(() => resolver.peek('orders')?.instances.length === 2);

    // A newer read landed first: the older answer arriving late changes nothing.
    const older = hold();
    clock.now += 2_000;
    expect((await resolver.resolve('orders')).instances).toHaveLength(2);
    clock.now += BOUND_MS;
    await add('10.0.0.3:80');
    await until(async () => (await resolver.resolve('orders')).instances.length === 3);
    older();
    await new Promise((r) => setTimeout(r, 50));
    expect(resolver.peek('orders')?.instances).toHaveLength(3);
  });

  it('in watch mode, gives up a lost first load and tracks the service afresh', async () => {
    const { hold, clock, resolver, add } = bounded({ watch: true });
    await add('10.0.0.1:80');
    hold();
    await expect(resolver.resolve('orders')).rejects.toMatchObject({ code: 'ETCD_TIMEOUT' });
    clock.now += BOUND_MS;
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    await until(() => resolver.status('orders')?.watched === true);
  });
});
