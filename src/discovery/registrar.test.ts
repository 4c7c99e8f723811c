import { afterEach, describe, expect, it, vi } from 'vitest';
import { until } from '../testing/internal/until.js';
import { EtcdClient, utf8 } from '../etcd/index.js';
import { FakeEtcd } from '../testing/index.js';
import { RegistrationConflictError } from './errors.js';
import { register } from './registrar.js';
import type { RegisteredInstance, RegistrarEvent } from './registrar-types.js';

const fakes: FakeEtcd[] = [];
const instances: RegisteredInstance[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(instances.splice(0).map((i) => i.close().catch(() => undefined)));
  fakes.splice(0).forEach((f) => f.close());
});

function setup() {
  const fake = new FakeEtcd();
  fakes.push(fake);
  const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch, timeoutMs: 300, writeTimeoutMs: 300, endpointCooldownMs: 0 });
  const events: RegistrarEvent[] = [];
  const start = async (options: Partial<Parameters<typeof register>[1]> = {}) => {
    const instance = await register(etcd, { service: 'orders', url: 'http://10.0.0.5:8080', ttl: 2, onEvent: (e) => events.push(e), ...options });
    instances.push(instance);
    return instance;
  };
  return { fake, etcd, events, start };
}

/** Keepalives, retries, request deadlines and the fake's lease expiry all run on timers: drive them without waiting. */
const fakeTimers = (): void => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });

/** Moves the fake clock on in 10 ms steps until `check` holds; fails after `ms`. */
async function advanceUntil(check: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited >= ms) throw new Error(`condition not met within ${ms} ms`);
    await vi.advanceTimersByTimeAsync(10);
  }
}

describe('register', () => {
  it('writes the key under a new lease and keeps the lease alive past its TTL', async () => {
    fakeTimers();
    const { etcd, events, start } = setup();
    const instance = await start({ weight: 5, tags: { zone: 'fra' } });
    expect(instance.key).toBe('services/orders/10.0.0.5:8080');
    const { kvs } = await etcd.range(instance.key);
    expect(kvs[0]!.lease).toBe(instance.leaseId);
    expect(utf8(kvs[0]!.value)).toBe('{"Op":0,"Addr":"http://10.0.0.5:8080","Metadata":{"tags":{"zone":"fra"},"weight":5}}');
    expect(events[0]).toMatchObject({ type: 'registered', key: instance.key, leaseId: instance.leaseId });
    // Three TTLs. The same lease, never lost: a registrar that let it expire would have registered again under a new one.
    await vi.advanceTimersByTimeAsync(6_000);
    expect((await etcd.range(instance.key)).kvs.map((kv) => kv.lease)).toEqual([kvs[0]!.lease]);
    expect(instance.leaseId).toBe(kvs[0]!.lease);
    expect(events.map((e) => e.type)).toEqual(['registered']);
    expect(instance.state).toBe('registered');
  });

  it('refuses a key held by another lease or by no lease', async () => {
    const { etcd, start } = setup();
    const first = await start();
    await expect(start()).rejects.toMatchObject({ code: 'REGISTRATION_CONFLICT', holder: first.leaseId });
    await etcd.put('services/orders/static', '{"Addr":"1.2.3.4"}');
    await expect(start({ id: 'static' })).rejects.toBeInstanceOf(RegistrationConflictError);
    expect((await etcd.leaseList()).ids).toEqual([first.leaseId]);
  });

  it('updates weight and tags in place under the same lease', async () => {
    const { etcd, start } = setup();
    const instance = await start({ layout: 'kitex', url: '10.0.0.5:8888', weight: 10 });
    const lease = instance.leaseId;
    await instance.update({ weight: 20, tags: { lane: 'canary' } });
    const { kvs } = await etcd.range(instance.key);
    expect(utf8(kvs[0]!.value)).toBe('{"network":"tcp","address":"10.0.0.5:8888","weight":20,"tags":{"lane":"canary"}}');
    expect(kvs[0]!.lease).toBe(lease);
    await expect(instance.update({ weight: 0 })).rejects.toThrow(/weight 0/);
  });

  it('close deletes the key and revokes the lease, and is safe twice', async () => {
    const { etcd, events, start } = setup();
    const instance = await start();
    await Promise.all([instance.close(), instance.close()]);
    await instance.close();
    expect((await etcd.range(instance.key)).kvs).toEqual([]);
    expect((await etcd.leaseList()).ids).toEqual([]);
    expect(instance.state).toBe('closed');
    expect(events.filter((e) => e.type === 'closed')).toHaveLength(1);
    await expect(instance.done).resolves.toBeUndefined();
  });

  it('re-registers after its lease is revoked behind its back', async () => {
    const { etcd, events, start } = setup();
    const instance = await start({ retry: { retryDelayMs: 200 } });
    const old = instance.leaseId;
    await etcd.leaseRevoke(old);
    await until(() => events.some((e) => e.type === 're-registered'));
    expect(events.map((e) => e.type)).toEqual(['registered', 'lost', 're-registered']);
    expect(instance.leaseId).not.toBe(old);
    expect((await etcd.range(instance.key)).kvs[0]!.lease).toBe(instance.leaseId);
  });

  it('gives up after maxAttempts failures in a row while etcd is unreachable', async () => {
    fakeTimers();
    const { fake, events, start } = setup();
    const instance = await start({ retry: { retryDelayMs: 100, maxAttempts: 2 } });
    fake.faults().down = true;
    const gaveUp = expect(instance.done).rejects.toThrow();
    // The TTL without a beat, then two retries.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events.map((e) => e.type)).toEqual(['registered', 'keepalive-failed', 'lost', 'retry-failed', 'retry-failed', 'gave-up']);
    await gaveUp;
    // The fake's open watch stream may still report the key expiring first.
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ reason: expect.stringMatching(/^(unreachable|key-deleted)$/) });
    expect(instance.state).toBe('gave-up');
  });

  it('notices a stalled etcd within the TTL and registers again soon after the stall ends', async () => {
    fakeTimers();
    const fake = new FakeEtcd();
    fakes.push(fake);
    // The client's own deadlines (5 s, writes 10 s) exceed the TTL: the registrar's must apply.
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch });
    const events: { at: number; type: string }[] = [];
    const instance = await register(etcd, {
      service: 'orders',
      url: 'http://10.0.0.5:8080',
      ttl: 2,
      retry: { retryDelayMs: 200, requestTimeoutMs: 500 },
      onEvent: (e) => events.push({ at: Date.now(), type: e.type }),
    });
    instances.push(instance);
    const stalled = Date.now();
    fake.faults().delayMs = 60_000;
    await advanceUntil(() => events.some((e) => e.type === 'retry-failed'), 5_000);
    const failed = events.find((e) => e.type === 'keepalive-failed');
    expect(failed, events.map((e) => e.type).join(', ')).toBeDefined();
    // A beat is sent every TTL/3 and tried twice on the one endpoint: 2 × 500 ms.
    expect(failed!.at - stalled).toBeLessThan(2_000);
    fake.faults().delayMs = 0;
    const ended = Date.now();
    await advanceUntil(() => events.some((e) => e.type === 're-registered'), 5_000);
    // At worst one attempt was waiting out its deadline, then one retry delay.
    expect(events.find((e) => e.type === 're-registered')!.at - ended).toBeLessThan(1_500);
    expect((await etcd.range(instance.key)).kvs[0]!.lease).toBe(instance.leaseId);
  });

  it('keeps going when an event listener throws', async () => {
    const { etcd, events, start } = setup();
    const instance = await start({
      retry: { retryDelayMs: 100 },
      onEvent: (e) => {
        events.push(e);
        throw new Error('listener bug');
      },
    });
    await etcd.leaseRevoke(instance.leaseId);
    await until(() => events.some((e) => e.type === 're-registered'));
    await instance.close();
    expect(events.map((e) => e.type)).toEqual(['registered', 'lost', 're-registered', 'closed']);
  });

  it('close can be retried after etcd was unreachable, and revokes the lease', async () => {
    const { fake, etcd, start } = setup();
    const instance = await start();
    fake.faults().down = true;
    await expect(instance.close()).rejects.toThrow();
    await expect(instance.done).resolves.toBeUndefined();
    fake.faults().down = false;
    await instance.close();
    expect((await etcd.leaseList()).ids).toEqual([]);
    expect((await etcd.range(instance.key)).kvs).toEqual([]);
  });

  it('registers again when its key is deleted by hand while the lease lives', async () => {
    const { etcd, events, start } = setup();
    const instance = await start({ retry: { retryDelayMs: 100 } });
    const lease = instance.leaseId;
    await etcd.delete(instance.key);
    await until(() => events.some((e) => e.type === 're-registered'));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'key-deleted' });
    expect((await etcd.range(instance.key)).kvs[0]!.lease).toBe(instance.leaseId);
    expect((await etcd.leaseList()).ids).toEqual([instance.leaseId]);
    expect(instance.leaseId).not.toBe(lease);
  });

  it('close leaves a key that another lease took', async () => {
    const { etcd, start } = setup();
    const instance = await start({ retry: { retryDelayMs: 100, maxAttempts: 1 } });
    const other = await etcd.leaseGrant(30);
    await etcd.put(instance.key, '{"Addr":"10.9.9.9:80"}', { lease: other.id });
    await instance.done.catch(() => undefined);
    await instance.close();
    expect((await etcd.range(instance.key)).kvs[0]!.lease).toBe(other.id);
  });

  it('aborts the first registration with its signal and leaves no lease behind', async () => {
    fakeTimers();
    const { fake, etcd, start } = setup();
    fake.faults().delayMs = 200;
    const controller = new AbortController();
    const registering = start({ signal: controller.signal });
    await vi.advanceTimersByTimeAsync(50);
    controller.abort();
    fake.faults().delayMs = 0;
    const aborted = expect(registering).rejects.toThrow();
    // Past the moment a grant that ignored the abort would have landed.
    await vi.advanceTimersByTimeAsync(300);
    await aborted;
    expect((await etcd.leaseList()).ids).toEqual([]);
  });

  it('notices its key taken by someone else', async () => {
    const { etcd, events, start } = setup();
    const instance = await start({ retry: { retryDelayMs: 100, maxAttempts: 1 } });
    const other = await etcd.leaseGrant(30);
    await etcd.put(instance.key, '{"Addr":"10.9.9.9:80"}', { lease: other.id });
    await expect(instance.done).rejects.toBeInstanceOf(RegistrationConflictError);
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'key-taken' });
  });
});
