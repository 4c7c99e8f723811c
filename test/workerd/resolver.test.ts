import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, kitexLayout, nativeLayout } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

let etcd: EtcdCluster;
let worker: Worker;

beforeAll(async () => {
  etcd = await startEtcd();
  worker = await startTestWorker('etcd-edge-resolver-probe', new URL('./resolver-probe.ts', import.meta.url), { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
}, 90_000);

afterAll(async () => {
  await worker?.dispose();
  await etcd?.close();
});

interface Answer {
  urls?: string[];
  ranges: number;
  code?: string;
  stats?: { staleIfErrorServes: number; refreshFailures: number };
}

async function resolve(service: string, query = ''): Promise<Answer> {
  const res = await worker.fetch(`http://probe.local/?service=${encodeURIComponent(service)}${query}`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as Answer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('resolver inside workerd', () => {
  it('caches per isolate, merges layouts and refreshes in the background through waitUntil', async () => {
    const client = new EtcdClient({ endpoints: etcd.endpoints });
    const put = async (layout: ReturnType<typeof nativeLayout>, url: string, weight: number): Promise<void> => {
      const record = layout.encode({ service: 'shop', url, weight });
      await client.put(record.key, record.value);
    };
    await put(nativeLayout(), 'http://10.0.0.1:8080', 2);
    await put(kitexLayout(), '10.0.0.2:8888', 7);

    const first = await resolve('shop');
    expect(first.urls).toEqual(['kitex http://10.0.0.2:8888 7', 'native http://10.0.0.1:8080 2']);
    expect((await resolve('shop')).ranges).toBe(first.ranges);

    await put(nativeLayout(), 'http://10.0.0.3:8080', 1);
    await new Promise((r) => setTimeout(r, 350));
    const stale = await resolve('shop');
    expect(stale.urls).toHaveLength(2);
    await until(async () => (await resolve('shop')).urls?.length === 3, 5_000);
    expect((await resolve('bad/name')).code).toBe('INVALID_SERVICE');
  }, 30_000);

  it('never waits on a refresh workerd cancelled: stale at the bound, then a new read', async () => {
    const client = new EtcdClient({ endpoints: etcd.endpoints });
    const record = nativeLayout().encode({ service: 'lost', url: 'http://10.0.0.7:8080' });
    await client.put(record.key, record.value);
    // profile short: fresh 100 ms, stale-while-revalidate 1.5 s more, reads bounded at 3 s.
    expect((await resolve('lost', '&profile=short')).urls).toEqual(['native http://10.0.0.7:8080 1']);

    await sleep(150);
    // Served stale; the refresh it starts has no waitUntil, so workerd cancels it with this response.
    expect((await resolve('lost', '&profile=short&detached=1')).urls).toHaveLength(1);
    const moved = nativeLayout().encode({ service: 'lost', url: 'http://10.0.0.8:8080' });
    await client.put(moved.key, moved.value);

    // Past stale-while-revalidate this lookup must wait for a read: the lost one, at most until its bound.
    await sleep(1_600);
    const started = Date.now();
    const waited = await resolve('lost', '&profile=short');
    expect(waited.urls).toEqual(['native http://10.0.0.7:8080 1']);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(waited.stats?.staleIfErrorServes).toBeGreaterThan(0);

    // The lost read is past its bound now: the next lookup gives it up and reads again.
    await until(async () => (await resolve('lost', '&profile=short')).urls?.length === 2, 5_000);
  }, 30_000);
});
