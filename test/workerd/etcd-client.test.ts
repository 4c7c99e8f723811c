import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';

type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;

let etcd: EtcdCluster;
let worker: Worker;

beforeAll(async () => {
  // wrangler would otherwise try to download request.cf data; the machine is offline.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  etcd = await startEtcd();
  worker = await unstable_startWorker({
    name: 'etcd-edge-probe',
    entrypoint: new URL('./etcd-probe.ts', import.meta.url).pathname,
    compatibilityDate: '2026-04-01',
    bindings: { ETCD_ENDPOINTS: { type: 'plain_text', value: etcd.endpoints.join(',') } },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false },
  });
}, 90_000);

afterAll(async () => {
  await worker?.dispose();
  await etcd?.close();
});

describe('etcd client inside workerd', () => {
  it('runs kv, txn, lease and watch calls against a real etcd', async () => {
    const res = await worker.fetch('http://probe.local/?prefix=workerd/one/');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      created: true,
      leaseIdIsString: true,
      beatTtl: 30,
      keys: ['a', 'b', 'c'],
      rawValue: [0xff, 0x00, 0x7f],
      watched: ['put a', 'put b', 'put c', 'delete c'],
      goneCode: 'ETCD_LEASE_NOT_FOUND',
    });
  }, 30_000);
});
