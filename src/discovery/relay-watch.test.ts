import { afterEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../etcd/index.js';
import type { Instance } from '../registry/index.js';
import { FakeRelay } from '../testing/index.js';
import type { RelayError } from './errors.js';
import { RelaySource } from './relay-source.js';
import { Resolver } from './resolver.js';

const TOKEN = 'relay-token-0123456789';
const resolvers: Resolver[] = [];
afterEach(() => resolvers.splice(0).forEach((r) => r.close()));

function instance(id: string, port: number): Instance {
  return { service: 'orders', id, url: `http://10.0.0.1:${port}`, weight: 1, tags: {}, metadata: null, key: `services/orders/${id}`, layout: 'native', revision: 5 };
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function setup(urls = ['http://relay-a.test'], options: { watchIdleMs?: number; staleIfErrorMs?: number; onChange?: (service: string) => void } = {}) {
  const relay = new FakeRelay({ token: TOKEN });
  const calls: string[] = [];
  const down = new Set<string>();
  const fetch: FetchLike = (input, init) => {
    calls.push(input);
    if (down.has(new URL(input).origin)) return Promise.reject(new TypeError('fetch failed'));
    return relay.fetch(input, init);
  };
  const source = new RelaySource({ urls, token: TOKEN, fetch, random: () => 0, watchWaitMs: 30_000, watchBackoffMs: 5 });
  const resolver = new Resolver({ source, watch: true, ...options });
  resolvers.push(resolver);
  return { relay, calls, down, resolver };
}

describe('watch mode over a relay', () => {
  it('tells onChange of a change a long-poll brought, not of the first read', async () => {
    const changed: string[] = [];
    const { relay, resolver } = setup(undefined, { onChange: (service) => changed.push(service) });
    relay.set('orders', [instance('a', 8080)]);
    await resolver.resolve('orders');
    expect(changed).toEqual([]);
    relay.set('orders', [instance('a', 8080), instance('b', 8081)]);
    await until(() => changed.length === 1);
    expect(changed).toEqual(['orders']);
    expect(resolver.peek('orders')?.instances).toHaveLength(2);
  });

  it('keeps one long-poll per service whatever the lookups, sees a change within one round trip, and makes no other request', async () => {
    const { relay, calls, resolver } = setup();
    relay.set('orders', [instance('a', 8080)]);
    const first = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('orders')));
    expect(new Set(first).size).toBe(1);
    expect(resolver.watchCount).toBe(1);
    await until(() => calls.length === 2);
    expect(calls).toEqual(['http://relay-a.test/v1/services/orders', 'http://relay-a.test/v1/services/orders?wait=30000']);
    for (let i = 0; i < 100; i++) await resolver.resolve('orders');
    relay.set('orders', [instance('a', 8080), instance('b', 8081)]);
    await until(() => resolver.peek('orders')?.instances.length === 2);
    expect((await resolver.resolve('orders')).instances.map((i) => i.id)).toEqual(['a', 'b']);
    // The change answered the held long-poll, and the next one is held again: nothing else was asked.
    await until(() => calls.length === 3);
    expect(calls.slice(2)).toEqual(['http://relay-a.test/v1/services/orders?wait=30000']);
    expect(resolver.stats.refreshes).toBe(1);
  });

  it('fails over to another relay URL and backs off while every one fails, serving the held snapshot', async () => {
    const { relay, calls, down, resolver } = setup(['http://relay-a.test', 'http://relay-b.test']);
    relay.set('orders', [instance('a', 8080)]);
    await resolver.resolve('orders');
    await until(() => calls.length === 2);
    down.add('http://relay-a.test');
    relay.set('orders', [instance('b', 8081)]);
    await until(() => resolver.peek('orders')?.instances[0]?.id === 'b');
    down.add('http://relay-b.test');
    // The long-poll held on relay-b answers this change; the next one fails.
    relay.set('orders', [instance('c', 8082)]);
    await until(() => resolver.status('orders')?.watchDownSince !== undefined);
    relay.set('orders', [instance('d', 8083)]);
    expect((await resolver.resolve('orders')).instances[0]?.id).toBe('c');
    const failing = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Backoff: a handful of tries in 100 ms, not a busy loop.
    expect(calls.length - failing).toBeLessThan(40);
    down.clear();
    await until(() => resolver.peek('orders')?.instances[0]?.id === 'd');
    expect(resolver.status('orders')?.watchDownSince).toBeUndefined();
  });

  it('stops a loop when its service goes idle and every loop when the resolver closes', async () => {
    const { relay, calls, resolver } = setup(['http://relay-a.test'], { watchIdleMs: 40 });
    relay.set('orders', [instance('a', 8080)]);
    relay.set('users', [{ ...instance('u', 9000), service: 'users', key: 'services/users/u' }]);
    await resolver.resolve('orders');
    await resolver.resolve('users');
    expect(resolver.watchCount).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await resolver.resolve('orders');
    expect(resolver.watchCount).toBe(1);
    resolver.close();
    expect(resolver.watchCount).toBe(0);
    const seen = calls.length;
    relay.set('orders', [instance('b', 8081)]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls.length).toBe(seen);
  });

  it('counts a relay serving stale from its age: status shows it, and past stale-if-error the snapshot is refused', async () => {
    const { relay, resolver } = setup(['http://relay-a.test'], { staleIfErrorMs: 60_000 });
    relay.set('orders', [instance('a', 8080)]);
    await resolver.resolve('orders');
    relay.staleAgeMs = 5_000;
    relay.set('orders', [instance('b', 8081)]);
    await until(() => resolver.status('orders')?.watchDownSince !== undefined);
    const status = resolver.status('orders')!;
    expect(Date.now() - status.currentAt).toBeGreaterThanOrEqual(5_000);
    expect((await resolver.resolve('orders')).instances[0]?.id).toBe('b');
    expect(resolver.stats.staleIfErrorServes).toBeGreaterThan(0);
  });
});

describe('a relay refusing the token in watch mode', () => {
  it('asks again only at the longest pause, tells once, reports the service broken, and resumes once the relay accepts the token again', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    const calls: string[] = [];
    const fetch: FetchLike = (input, init) => {
      calls.push(input);
      return relay.fetch(input, init);
    };
    const refusals: RelayError[] = [];
    const source = new RelaySource({ urls: ['http://relay-a.test'], token: TOKEN, fetch, random: () => 0, watchBackoffMs: 5, watchMaxBackoffMs: 400, onRefused: (e) => refusals.push(e) });
    const resolver = new Resolver({ source, watch: true });
    resolvers.push(resolver);
    relay.set('orders', [instance('a', 8080)]);
    await resolver.resolve('orders');
    await until(() => calls.length === 2);
    // Tokens rotated on the relay side without this gateway's: the held long-poll (let in before) answers, the next one is refused.
    relay.token = 'rotated-token-9876543210';
    relay.set('orders', [instance('b', 8081)]);
    await until(() => resolver.status('orders')?.watchDownSince !== undefined);
    relay.set('orders', [instance('c', 8082)]);
    const refusedAt = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A transient failure would have been asked again within 5-40 ms, many times over: a refused token waits (200-400 ms
    // here, from the refusal, which came up to a poll of `until` before this wait: 100 ms leaves room for a late timer).
    expect(calls.length).toBe(refusedAt);
    expect(refusals.map((e) => e.code)).toEqual(['RELAY_UNAUTHORIZED']);
    expect((await resolver.resolve('orders')).instances[0]?.id).toBe('b');
    await until(() => calls.length > refusedAt, 1_000);
    // Refused again: still told only once.
    expect(refusals).toHaveLength(1);
    relay.token = TOKEN;
    await until(() => resolver.peek('orders')?.instances[0]?.id === 'c', 2_000);
    expect(resolver.status('orders')?.watchDownSince).toBeUndefined();
  });

  it('takes a 403 as a refused token too', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    relay.failWith = 403;
    const source = new RelaySource({ urls: ['http://relay-a.test', 'http://relay-b.test'], token: TOKEN, fetch: relay.fetch });
    await expect(source.read('orders', undefined)).rejects.toMatchObject({ code: 'RELAY_UNAUTHORIZED', status: 403 });
    expect(relay.answers.get(403)).toBe(1);
  });
});

describe('a relay serving stale, outside watch mode', () => {
  it('keeps the relay age in the currency without reading again per request, and refuses a snapshot older than stale-if-error', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    const clock = { now: 1_000_000 };
    const source = new RelaySource({ urls: ['http://relay-a.test'], token: TOKEN, fetch: relay.fetch, now: () => clock.now });
    const resolver = new Resolver({ source, now: () => clock.now, cacheTtlMs: 2_000, staleWhileRevalidateMs: 0, staleIfErrorMs: 60_000 });
    resolvers.push(resolver);
    relay.set('orders', [instance('a', 8080)]);
    relay.staleAgeMs = 20_000;
    await resolver.resolve('orders');
    expect(resolver.status('orders')?.currentAt).toBe(clock.now - 20_000);
    for (let i = 0; i < 10; i++) await resolver.resolve('orders');
    expect(relay.answers.get(200)).toBe(1);
    expect(relay.answers.get(304)).toBeUndefined();
    // Still stale 30 s later: the 304 carries the age, and the first estimate is kept.
    clock.now += 30_000;
    relay.staleAgeMs = 50_000;
    await resolver.resolve('orders');
    expect(relay.answers.get(304)).toBe(1);
    expect(resolver.status('orders')?.currentAt).toBe(clock.now - 50_000);
    // Past stale-if-error at the gateway: refused, as etcd's own outage would be.
    clock.now += 15_000;
    relay.staleAgeMs = 65_000;
    await expect(resolver.resolve('orders')).rejects.toMatchObject({ code: 'RELAY_ETCD_UNAVAILABLE' });
    // The relay reaches etcd again: current once more.
    relay.staleAgeMs = undefined;
    clock.now += 2_000;
    await expect(resolver.resolve('orders')).resolves.toMatchObject({ service: 'orders' });
    expect(resolver.status('orders')?.currentAt).toBe(clock.now);
  });
});
