import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

let etcd: EtcdCluster;
let worker: Worker;

beforeAll(async () => {
  etcd = await startEtcd();
  worker = await startTestWorker('etcd-edge-probe', new URL('./etcd-probe.ts', import.meta.url), { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
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
