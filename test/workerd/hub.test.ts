import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { startHubWorker, type Worker } from '../support/workerd.js';

/** Ranges etcd has served, from its own metrics. */
async function etcdRanges(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('etcd_mvcc_range_total '));
  return Number(line?.split(' ')[1]);
}

describe('Worker with the snapshot hub (workerd, real etcd)', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let first: Backend;
  let second: Backend;
  let persist: string;
  let worker: Worker | undefined;
  const layout = nativeLayout();

  const vars = (): Record<string, string> => ({
    ETCD_ENDPOINTS: cluster.endpoints.join(','),
    ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    // Every request misses the isolate's cache, as in a fleet of cold isolates: each one asks the hub.
    ETCD_EDGE_CACHE_TTL_MS: '0',
    ETCD_EDGE_HUB_CACHE_TTL_MS: '3000',
    // Means "through the hub" on Workers, not an error.
    ETCD_EDGE_WATCH: 'on',
  });

  beforeAll(async () => {
    [cluster, first, second, persist] = await Promise.all([startEtcd(), Backend.start('first'), Backend.start('second'), mkdtemp(join(tmpdir(), 'etcd-edge-hub-'))]);
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const record = layout.encode({ service: 'hubbed', url: first.url, id: 'one' });
    await etcd.put(record.key, record.value);
    worker = await startHubWorker(persist, vars());
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([first?.close(), second?.close(), cluster?.close()]);
    if (persist) await rm(persist, { recursive: true, force: true });
  });

  it('routes requests that miss the isolate cache with one etcd read per hub TTL', async () => {
    expect((await worker!.fetch('http://gateway.test/svc/hubbed/')).status).toBe(200);
    const before = await etcdRanges(cluster.endpoints[0]!);
    for (let i = 0; i < 40; i++) expect((await worker!.fetch('http://gateway.test/svc/hubbed/x')).status).toBe(200);
    const ranges = (await etcdRanges(cluster.endpoints[0]!)) - before;
    expect(first.requests).toBe(41);
    // 40 lookups, each one a hub call; the hub read etcd at most once more (its TTL may have run out once).
    expect(ranges).toBeLessThanOrEqual(1);
  });

  it('sees a registry change through the hub', async () => {
    const moved = layout.encode({ service: 'hubbed', url: second.url, id: 'one' });
    await etcd.put(moved.key, moved.value);
    await until(async () => (await worker!.fetch('http://gateway.test/svc/hubbed/')).status === 200 && second.requests > 0, 15_000);
    const was = first.requests;
    for (let i = 0; i < 5; i++) expect((await worker!.fetch('http://gateway.test/svc/hubbed/')).status).toBe(200);
    expect(first.requests).toBe(was);
  });

  it('a restarted hub serves the stored snapshot while etcd is gone', async () => {
    await worker!.dispose();
    worker = undefined;
    await cluster.close();
    worker = await startHubWorker(persist, vars());
    const was = second.requests;
    const res = await worker.fetch('http://gateway.test/svc/hubbed/');
    expect(res.status).toBe(200);
    expect(second.requests).toBe(was + 1);
  }, 60_000);
});
