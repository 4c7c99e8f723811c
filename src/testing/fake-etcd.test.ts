import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdClient, EtcdLeaseNotFoundError, utf8, type WatchBatch } from '../index.js';
import { FakeEtcd } from './index.js';

describe('FakeEtcd', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires leases on fake timers, deleting their keys in one revision a watcher sees', async () => {
    vi.useFakeTimers();
    const fake = new FakeEtcd();
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch });
    const { id } = await etcd.leaseGrant(10);
    await etcd.put('svc/a', '1', { lease: id });
    const { header } = await etcd.put('svc/b', '2', { lease: id });
    const batches: WatchBatch[] = [];
    const controller = new AbortController();
    const done = (async () => {
      for await (const batch of etcd.watch({ prefix: 'svc/' }, { startRevision: header.revision + 1, signal: controller.signal })) batches.push(batch);
    })();

    await vi.advanceTimersByTimeAsync(9_000);
    await etcd.leaseKeepAlive(id);
    await vi.advanceTimersByTimeAsync(9_000);
    expect((await etcd.range({ prefix: 'svc/' })).count).toBe(2);
    expect((await etcd.leaseTimeToLive(id)).ttl).toBe(1);

    await vi.advanceTimersByTimeAsync(1_001);
    expect((await etcd.range({ prefix: 'svc/' })).count).toBe(0);
    await expect(etcd.leaseKeepAlive(id)).rejects.toBeInstanceOf(EtcdLeaseNotFoundError);
    await vi.advanceTimersByTimeAsync(10);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.events.map((e) => [e.type, utf8(e.kv.key), e.kv.modRevision])).toEqual([
      ['delete', 'svc/a', header.revision + 1],
      ['delete', 'svc/b', header.revision + 1],
    ]);
    controller.abort();
    await done;
    fake.close();
  });

  it('raises a TTL below the minimum to etcd’s minimum', async () => {
    const fake = new FakeEtcd();
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch });
    expect((await etcd.leaseGrant(1)).ttl).toBe(2);
    fake.close();
  });

  it('fails like a refused connection when down, and like a proxy when told to', async () => {
    const fake = new FakeEtcd();
    const url = `${fake.endpoints[0]}/v3/kv/range`;
    const init = { method: 'POST', body: '{"key":"YQ=="}' };
    fake.faults().down = true;
    await expect(fake.fetch(url, init)).rejects.toThrow(TypeError);
    fake.faults().down = false;
    fake.faults().failNext = { status: 502, times: 1, body: 'html' };
    const html = await fake.fetch(url, init);
    expect(html.status).toBe(502);
    expect(await html.text()).toContain('<html>');
    expect((await fake.fetch(url, init)).status).toBe(200);
    await expect(fake.fetch('http://elsewhere.fake/v3/kv/range', init)).rejects.toThrow(TypeError);
    expect(fake.calls.get('/v3/kv/range')).toBe(1);
  });

  it('answers unknown paths like the gateway, with a plain 404', async () => {
    const fake = new FakeEtcd();
    const res = await fake.fetch(`${fake.endpoints[0]}/v3/kv/nope`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('Not Found\n');
  });

  it('slows answers, and an aborted request stops waiting', async () => {
    const fake = new FakeEtcd();
    fake.faults().delayMs = 10_000;
    const controller = new AbortController();
    const pending = fake.fetch(`${fake.endpoints[0]}/v3/kv/range`, { method: 'POST', body: '{}', signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
  });
});
