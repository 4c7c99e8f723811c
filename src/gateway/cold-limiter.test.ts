import { afterEach, describe, expect, it } from 'vitest';
import { ColdLookupLimiter } from './cold-limiter.js';
import { closeAll, errorOf, setup } from './fixtures.js';

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
});
