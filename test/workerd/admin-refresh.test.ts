import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backends, type Echo } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { until } from '../support/until.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

const CACHE_TTL_MS = 150;
const native = nativeLayout();

/**
 * A refresh started by a request that does not keep it alive is cancelled by
 * workerd with the response; a service whose refresh was lost must still see
 * registry changes and still answer.
 */
describe('Worker refresh started by the admin view', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let worker: Worker;
  let base: string;
  const backends = new Backends();

  beforeAll(async () => {
    cluster = await startEtcd();
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    worker = await startTestWorker('etcd-edge-admin-refresh', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_CACHE_TTL_MS: String(CACHE_TTL_MS),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
    });
    base = (await worker.url).origin;
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await backends.closeAll();
    await cluster?.close();
  });

  /** Which backend answered; a request that hangs fails here instead of at the test's timeout. */
  async function answeredBy(service: string): Promise<string> {
    const res = await fetch(`${base}/svc/${service}/`, { signal: AbortSignal.timeout(4_000) });
    expect(res.status).toBe(200);
    return ((await res.json()) as Echo).backend;
  }

  it('keeps following the registry after stale admin views (proxied GET, admin view, then GETs)', async () => {
    const [first, second] = await Promise.all([backends.start('first'), backends.start('second')]);
    const before = native.encode({ service: 'frozen', url: first.url, id: 'a' });
    await etcd.put(before.key, before.value);
    expect(await answeredBy('frozen')).toBe('first');

    // Each view finds the snapshot stale and starts a refresh; before the fix, workerd cancelled it with the view's response.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, CACHE_TTL_MS * 2));
      const view = await fetch(`${base}/_edge/services/frozen`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(view.status).toBe(200);
      await view.arrayBuffer();
    }

    const after = native.encode({ service: 'frozen', url: second.url, id: 'b' });
    await etcd.put(after.key, after.value);
    await etcd.delete(before.key);
    // Fresh for the TTL, then one stale answer while a refresh runs: the change shows within a few TTLs.
    await until(async () => (await answeredBy('frozen')) === 'second', 3_000);
    for (let i = 0; i < 5; i++) expect(await answeredBy('frozen')).toBe('second');
  }, 30_000);
});
