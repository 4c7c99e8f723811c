import { afterEach, describe, expect, it } from 'vitest';
import { ColdLookupLimiter } from './cold-limiter.js';
import { closeAll, errorOf, setup } from '../testing/internal/gateway.js';

const limits = { perClient: { perSecond: 2, burst: 3 }, overall: { perSecond: 10, burst: 5 }, maxClients: 2 };

describe('ColdLookupLimiter', () => {
  it('defers one client after its burst without touching the others, and refills with time', () => {
    let now = 0;
    const limiter = new ColdLookupLimiter(limits, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
    expect(limiter.take('b')).toBe(true);
    now += 500; // 2/s: one token back
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false]);
  });

  it('caps all clients together', () => {
    let now = 0;
    const limiter = new ColdLookupLimiter({ ...limits, maxClients: 100 }, () => now);
    const taken = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((client) => limiter.take(client));
    expect(taken).toEqual([true, true, true, true, true, false, false]);
    now += 100; // 10/s overall: one token back
    expect(limiter.take('h')).toBe(true);
  });

  it('forgets the least recently seen client beyond maxClients, so addresses cannot grow memory', () => {
    const limiter = new ColdLookupLimiter({ ...limits, overall: { perSecond: 1000, burst: 1000 } }, () => 0);
    for (let i = 0; i < 3; i++) limiter.take('a');
    expect(limiter.take('a')).toBe(false);
    limiter.take('b');
    limiter.take('c'); // drops 'a', the least recently seen
    expect(limiter.take('a')).toBe(true);
  });
});

describe('lookups of never-seen names through the gateway', () => {
  afterEach(closeAll);

  it('a client flooding made-up names is deferred; another client still reaches a real service', async () => {
    const { request } = await setup({
      instances: [{ service: 'orders', url: 'http://10.0.0.1:8080' }],
      hooks: { clientIp: (c) => c.req.header('x-test-client') },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await request(`/svc/made-up-${i}/`, { headers: { 'x-test-client': '198.51.100.7' } })).status);
    const deferred = await request('/svc/made-up-x/', { headers: { 'x-test-client': '198.51.100.7' } });
    expect(deferred.status).toBe(503);
    expect((await errorOf(deferred)).message).toMatch(/too many lookups/);
    expect((await request('/svc/orders/', { headers: { 'x-test-client': '198.51.100.8' } })).status).toBe(200);
  });

  it('rations names held with no instances too, and counts an IPv6 /64 as one client', async () => {
    let clock = 1_800_000_000_000;
    const { request } = await setup({
      instances: [{ service: 'orders', url: 'http://10.0.0.1:8080' }],
      hooks: { clientIp: (c) => c.req.header('x-test-client') },
      now: () => clock,
    });
    const ask = (name: string, client: string) => request(`/svc/${name}/`, { headers: { 'x-test-client': client } });
    for (let i = 0; i < 50; i++) await ask(`empty-${i % 5}`, '2001:db8:1:2::1');
    // The same five names again, after their negative cache ran out: each would be another etcd read.
    clock += 5_000;
    const again = await Promise.all(Array.from({ length: 60 }, (_, i) => ask(`empty-${i % 5}`, `2001:db8:1:2::${(i % 200) + 2}`)));
    const deferred = [];
    for (const r of again) if (r.status === 503 && /too many lookups/.test((await errorOf(r)).message)) deferred.push(r);
    expect(deferred.length).toBeGreaterThan(0);
    // Another /64 is another client.
    expect((await ask('orders', '2001:db8:1:3::1')).status).toBe(200);
  });
});
