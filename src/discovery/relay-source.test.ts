import { afterEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../etcd/index.js';
import type { Instance, SkippedRecord } from '../registry/index.js';
import { FakeRelay } from '../testing/index.js';
import { RelayError } from './errors.js';
import { RelaySource, type RelaySourceOptions } from './relay-source.js';
import { Resolver } from './resolver.js';
import { resolveOptions, type ResolverOptions } from './resolver-options.js';

const TOKEN = 'relay-token-0123456789';
const resolvers: Resolver[] = [];
afterEach(() => resolvers.splice(0).forEach((r) => r.close()));

function instance(id: string, port: number, extra: Record<string, unknown> = {}): Instance {
  return { service: 'orders', id, url: `http://10.0.0.1:${port}`, weight: 1, tags: {}, metadata: null, key: `services/orders/${id}`, layout: 'native', leaseId: '7587862072112422001', revision: 5, ...extra };
}

function setup(options: { source?: Partial<RelaySourceOptions>; resolver?: Partial<ResolverOptions>; fetch?: (relay: FakeRelay) => FetchLike } = {}) {
  const relay = new FakeRelay({ token: TOKEN });
  const clock = { now: 1_000_000 };
  const calls: string[] = [];
  const inner = options.fetch?.(relay) ?? relay.fetch;
  const fetch: FetchLike = (input, init) => {
    calls.push(input);
    return inner(input, init);
  };
  const source = new RelaySource({ urls: ['http://relay-a.test'], token: TOKEN, fetch, random: () => 0, ...options.source });
  const resolver = new Resolver({ source, now: () => clock.now, staleWhileRevalidateMs: 0, ...options.resolver });
  resolvers.push(resolver);
  return { relay, clock, calls, source, resolver };
}

describe('RelaySource', () => {
  it('reads a service on first use, sending the bearer token', async () => {
    const { relay, resolver, calls } = setup();
    relay.set('orders', [instance('a', 8080), instance('b', 8081, { weight: 3, tags: { zone: 'fra' } })]);
    const snapshot = await resolver.resolve('orders');
    expect(snapshot.instances).toMatchObject([{ id: 'a', url: 'http://10.0.0.1:8080' }, { id: 'b', weight: 3, tags: { zone: 'fra' }, leaseId: '7587862072112422001' }]);
    expect(Object.isFrozen(snapshot.instances) && Object.isFrozen(snapshot.instances[0])).toBe(true);
    expect(calls).toEqual(['http://relay-a.test/v1/services/orders']);
  });

  it('keeps the held snapshot on a 304: same object, same instance list, nothing rebuilt', async () => {
    const { relay, resolver, clock } = setup();
    relay.set('orders', [instance('a', 8080)]);
    const first = await resolver.resolve('orders');
    clock.now += 2_001;
    const second = await resolver.resolve('orders');
    expect(second).toBe(first);
    expect(second.instances).toBe(first.instances);
    expect(relay.answers.get(304)).toBe(1);
    expect(resolver.status('orders')?.currentAt).toBe(clock.now);
  });

  it('replaces the snapshot when the revision changed', async () => {
    const { relay, resolver, clock } = setup();
    relay.set('orders', [instance('a', 8080)]);
    const first = await resolver.resolve('orders');
    const revision = relay.set('orders', [instance('a', 8080), instance('b', 8081)]);
    clock.now += 2_001;
    const second = await resolver.resolve('orders');
    expect(second.revision).toBe(revision);
    expect(second.instances.map((i) => i.id)).toEqual(['a', 'b']);
    expect(first.instances).toHaveLength(1);
  });

  it('fails over to the next URL and sets the failed one aside', async () => {
    const { relay, resolver, clock, calls, source } = setup({
      source: { urls: ['http://relay-a.test', 'http://relay-b.test/'] },
      fetch: (relay) => (input, init) => (input.startsWith('http://relay-a.test') ? Promise.reject(new TypeError('fetch failed')) : relay.fetch(input, init)),
    });
    relay.set('orders', [instance('a', 8080)]);
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    clock.now += 2_001;
    await resolver.resolve('orders');
    expect(calls).toEqual(['http://relay-a.test/v1/services/orders', 'http://relay-b.test/v1/services/orders', 'http://relay-b.test/v1/services/orders']);
    expect(source.downCount).toBe(1);
  });

  it('fails over on a timeout, a 429 and a 503, within the default bound', async () => {
    const slow: FetchLike = (_input, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const { relay, resolver, calls } = setup({
      source: { urls: ['http://slow.test', 'http://limited.test', 'http://b.test'], timeoutMs: 100 },
      fetch: (relay) => (input, init) => (input.startsWith('http://slow.test') ? slow(input, init) : input.startsWith('http://limited.test') ? Promise.resolve(Response.json({ error: { code: 'RATE_LIMITED', message: 'slow down' } }, { status: 429, headers: { 'retry-after': '5' } })) : relay.fetch(input, init)),
    });
    relay.set('orders', [instance('a', 8080)]);
    expect((await resolver.resolve('orders')).instances).toHaveLength(1);
    expect(calls.map((c) => new URL(c).host)).toEqual(['slow.test', 'limited.test', 'b.test']);
    const three = new RelaySource({ urls: ['http://a.test', 'http://b.test', 'http://c.test'], token: TOKEN, timeoutMs: 3_000 });
    expect(three.callBoundMs).toBe(10_000);
    // The shared read's default bound covers the relay's failover, not one request.
    expect(resolveOptions({ source: three }).refreshTimeoutMs).toBe(10_000);
  });

  it('does not retry a refused token: RELAY_UNAUTHORIZED, not retryable', async () => {
    const { resolver, calls } = setup({ source: { urls: ['http://relay-a.test', 'http://relay-b.test'], token: 'wrong-token-0123456789' } });
    const error = await resolver.resolve('orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ code: 'RELAY_UNAUTHORIZED', retryable: false, status: 401 });
    expect(String((error as Error).message)).not.toContain('wrong-token');
    expect(calls).toHaveLength(1);
  });

  it('skips malformed instances with a reason and keeps the good ones', async () => {
    const skipped: SkippedRecord[] = [];
    const { relay, resolver } = setup({ resolver: { onSkipped: (r) => skipped.push(r) } });
    relay.set('orders', [
      instance('good', 8080),
      instance('userinfo', 8081, { url: 'http://user@10.0.0.1:8081' }),
      instance('heavy', 8082, { weight: -1 }),
      instance('other', 8083, { service: 'billing' }),
      instance('lease', 8084, { leaseId: 7587862072112422001 }),
      instance('path', 8085, { url: 'http://10.0.0.1:8085/admin' }),
      'not an object',
    ]);
    const snapshot = await resolver.resolve('orders');
    expect(snapshot.instances.map((i) => i.id)).toEqual(['good']);
    expect(snapshot.skipped.map((s) => s.key)).toEqual(['services/orders/userinfo', 'services/orders/heavy', 'services/orders/other', 'services/orders/lease', 'services/orders/path', '(relay instance 6)']);
    expect(snapshot.skipped.map((s) => s.reason)).toEqual([
      'relay instance: address has userinfo',
      'relay instance: weight is not a number from 0 to 1000000',
      'relay instance: service is not the one asked for',
      'relay instance: leaseId is not a decimal string',
      'relay instance: address has a path',
      'relay instance: not an object',
    ]);
    expect(skipped).toHaveLength(6);
  });

  it('serves the last snapshot while the relay is down (stale-if-error), then fails with RELAY_UNAVAILABLE', async () => {
    const { relay, resolver, clock } = setup({ resolver: { staleIfErrorMs: 60_000 } });
    relay.set('orders', [instance('a', 8080)]);
    const first = await resolver.resolve('orders');
    relay.down = true;
    clock.now += 30_000;
    expect(await resolver.resolve('orders')).toBe(first);
    expect(resolver.stats.staleIfErrorServes).toBe(1);
    relay.down = false;
    relay.failWith = 503;
    clock.now += 2_000;
    expect(await resolver.resolve('orders')).toBe(first);
    clock.now += 30_000;
    await expect(resolver.resolve('orders')).rejects.toMatchObject({ code: 'RELAY_UNAVAILABLE', retryable: true });
  });

  it('remembers an empty service briefly (negative cache), then asks with its revision', async () => {
    const { relay, resolver, clock } = setup();
    expect((await resolver.resolve('ghost')).instances).toEqual([]);
    clock.now += 999;
    await resolver.resolve('ghost');
    expect(relay.answers.get(200)).toBe(1);
    clock.now += 2;
    await resolver.resolve('ghost');
    expect(relay.answers.get(304)).toBe(1);
  });

  it('shares one request among concurrent misses (single flight)', async () => {
    const { relay, resolver, calls } = setup();
    relay.set('orders', [instance('a', 8080)]);
    const all = await Promise.all([1, 2, 3, 4].map(() => resolver.resolve('orders')));
    expect(new Set(all).size).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it('refuses relay URLs with credentials or another scheme, without echoing them', () => {
    expect(() => new RelaySource({ urls: ['http://u:secret@relay.test'], token: TOKEN })).toThrow(/must not contain credentials/);
    expect(() => new RelaySource({ urls: ['ftp://relay.test'], token: TOKEN })).toThrow(/http\(s\)/);
    expect(() => new RelaySource({ urls: [], token: TOKEN })).toThrow(/at least one/);
  });
});
