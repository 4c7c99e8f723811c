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

async function resolve(service: string): Promise<{ urls?: string[]; ranges: number; code?: string }> {
  const res = await worker.fetch(`http://probe.local/?service=${encodeURIComponent(service)}`);
  return (await res.json()) as { urls?: string[]; ranges: number; code?: string };
}

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
});
