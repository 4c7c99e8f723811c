import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout, register, Resolver, type RegisteredInstance, type RegistrarEvent } from '../src/index.js';
import { countingFetch } from './support/counting-fetch.js';
import { until } from './support/until.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { etcdctl } from './support/etcdctl.js';
import { TcpProxy } from './support/tcp-proxy.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
const native = nativeLayout();
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
});

afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

afterAll(async () => {
  await cluster?.close();
});

async function add(service: string, url: string): Promise<void> {
  const record = native.encode({ service, url });
  await etcd.put(record.key, record.value);
}

function resolver(options: Partial<ConstructorParameters<typeof Resolver>[0]> & { endpoints?: string[] } = {}) {
  const counter = countingFetch();
  const { endpoints = cluster.endpoints, ...rest } = options;
  const client = new EtcdClient({ endpoints, fetch: counter.fetch, timeoutMs: 1_000 });
  const r = new Resolver({ etcd: client, ...rest });
  cleanup.push(() => r.close());
  return { resolver: r, ranges: () => counter.count('/v3/kv/range') };
}

const urls = async (r: Resolver, service: string): Promise<string[]> => (await r.resolve(service)).instances.map((i) => i.url);

describe('resolver against etcd', () => {
  it('answers 500 concurrent lookups of a cold service with one range', async () => {
    await add('cold', '10.0.0.1:80');
    const { resolver: r, ranges } = resolver();
    const snapshots = await Promise.all(Array.from({ length: 500 }, () => r.resolve('cold')));
    expect(ranges()).toBe(1);
    expect(new Set(snapshots).size).toBe(1);
    expect(snapshots[0]!.instances).toHaveLength(1);
  });

  it.each([false, true])('keeps answering while etcd is stopped and sees changes after it restarts (watch: %s)', async (watch) => {
    const service = `outage-${watch}`;
    await add(service, '10.0.0.1:80');
    const clock = { offset: 0 };
    const { resolver: r } = resolver({ watch, cacheTtlMs: 200, staleWhileRevalidateMs: 200, now: () => Date.now() + clock.offset });
    expect(await urls(r, service)).toEqual(['http://10.0.0.1:80']);
    const member = cluster.members[0]!;
    await member.stop();
    try {
      for (let i = 0; i < 5; i++) {
        clock.offset += 60_000;
        expect(await urls(r, service)).toEqual(['http://10.0.0.1:80']);
      }
    } finally {
      await member.start();
    }
    await add(service, '10.0.0.2:80');
    await until(async () => (await urls(r, service)).length === 2);
  });

  it('resyncs a watch after etcdctl compact without losing a change', async () => {
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: Number(new URL(cluster.endpoints[0]!).port) }).listen();
    cleanup.push(() => proxy.close());
    await add('compacted', '10.0.0.1:80');
    // A long cacheTtl: only the resync, not a cache expiry, can bring the change in.
    const { resolver: r, ranges } = resolver({ watch: true, endpoints: [proxy.url], cacheTtlMs: 3_600_000 });
    expect(await urls(r, 'compacted')).toEqual(['http://10.0.0.1:80']);
    expect(ranges()).toBe(1);
    proxy.refuse(true);
    proxy.dropAll();
    await add('compacted', '10.0.0.2:80');
    await etcd.delete('services/compacted/10.0.0.1:80');
    const revision = (await etcd.range('nothing')).header.revision;
    etcdctl(cluster.endpoints, 'compact', String(revision));
    proxy.refuse(false);
    await until(async () => (await urls(r, 'compacted')).join() === 'http://10.0.0.2:80');
    expect(ranges()).toBe(2);
    await add('compacted', '10.0.0.3:80');
    await until(async () => (await urls(r, 'compacted')).length === 2);
  });

  it.each([false, true])('serves the last snapshot while cut off from etcd and picks up changes made meanwhile (watch: %s)', async (watch) => {
    const service = `cutoff-${watch}`;
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: Number(new URL(cluster.endpoints[0]!).port) }).listen();
    cleanup.push(() => proxy.close());
    await add(service, '10.0.0.1:80');
    const { resolver: r } = resolver({ watch, endpoints: [proxy.url], cacheTtlMs: 100, staleWhileRevalidateMs: 100 });
    expect(await urls(r, service)).toEqual(['http://10.0.0.1:80']);
    proxy.refuse(true);
    proxy.dropAll();
    await add(service, '10.0.0.2:80');
    for (let i = 0; i < 5; i++) {
      await new Promise((res) => setTimeout(res, 100));
      expect(await urls(r, service)).toEqual(['http://10.0.0.1:80']);
    }
    proxy.refuse(false);
    await until(async () => (await urls(r, service)).length === 2);
  });

  it('notices a stalled watch, serves the snapshot as stale meanwhile, and catches up when it moves again', async () => {
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: Number(new URL(cluster.endpoints[0]!).port) }).listen();
    cleanup.push(() => proxy.close());
    await add('stalled', '10.0.0.1:80');
    const { resolver: r } = resolver({ watch: true, endpoints: [proxy.url], watchSilenceMs: 300 });
    await r.resolve('stalled');
    proxy.stall(true);
    await etcd.delete('services/stalled/10.0.0.1:80');
    await until(() => r.status('stalled')?.watchDownSince !== undefined, 5_000);
    expect(await urls(r, 'stalled')).toEqual(['http://10.0.0.1:80']);
    expect(r.stats.staleIfErrorServes).toBe(1);
    proxy.stall(false);
    proxy.dropAll();
    await until(async () => (await urls(r, 'stalled')).length === 0, 10_000);
  });

  it('makes no range call in steady state in watch mode, and sees a change within a watch round trip', async () => {
    await add('steady', '10.0.0.1:80');
    const { resolver: r, ranges } = resolver({ watch: true });
    await r.resolve('steady');
    const before = ranges();
    const started = Date.now();
    await add('steady', '10.0.0.2:80');
    await until(async () => (await urls(r, 'steady')).length === 2);
    const visibleMs = Date.now() - started;
    for (let i = 0; i < 200; i++) await r.resolve('steady');
    expect(ranges()).toBe(before);
    expect(visibleMs).toBeLessThan(2_000);
  });
});

describe('registrar against etcd', () => {
  it('re-registers within retryDelay + 2 s (room for etcdctl on a loaded machine) after its lease is revoked behind its back', async () => {
    const events: RegistrarEvent[] = [];
    const instance: RegisteredInstance = await register(etcd, {
      service: 'revoked',
      url: '10.0.0.1:80',
      ttl: 5,
      retry: { retryDelayMs: 500 },
      onEvent: (e) => events.push(e),
    });
    cleanup.push(() => instance.close());
    const old = instance.leaseId;
    const revokedAt = Date.now();
    etcdctl(cluster.endpoints, 'lease', 'revoke', BigInt(old).toString(16));
    await until(() => events.some((e) => e.type === 're-registered'), 5_000);
    // The retry delay, plus room for etcdctl's own run on a loaded machine.
    expect(Date.now() - revokedAt).toBeLessThan(500 + 2_000);
    expect(instance.leaseId).not.toBe(old);
    expect((await etcd.range(instance.key)).kvs[0]?.lease).toBe(instance.leaseId);
    expect(events.map((e) => e.type)).toEqual(['registered', 'lost', 're-registered']);
  });

  it('registers again when etcd comes back after being unreachable for longer than the TTL', async () => {
    const events: RegistrarEvent[] = [];
    const client = new EtcdClient({ endpoints: cluster.endpoints, timeoutMs: 500, writeTimeoutMs: 1_000 });
    const instance = await register(client, {
      service: 'outlived',
      url: '10.0.0.1:80',
      ttl: 2,
      retry: { retryDelayMs: 300 },
      onEvent: (e) => events.push(e),
    });
    cleanup.push(() => instance.close());
    const member = cluster.members[0]!;
    await member.stop();
    try {
      await until(() => events.some((e) => e.type === 'lost'), 10_000);
    } finally {
      await member.start();
    }
    await until(() => events.some((e) => e.type === 're-registered'), 10_000);
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'unreachable' });
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['registered', 'keepalive-failed']);
    await until(async () => (await etcd.range(instance.key)).kvs[0]?.lease === instance.leaseId, 5_000);
    expect(instance.state).toBe('registered');
  });
});
