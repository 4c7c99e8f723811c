import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backends, type Echo } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

const native = nativeLayout();

/**
 * workerd resolves dot segments before the Worker sees the URL, so the
 * gateway cannot refuse them there as it does on Node and Lambda. What holds
 * instead: the request is routed exactly as its resolved path says, and can
 * reach nothing the resolved path sent directly could not.
 */
describe('Worker: dot segments in the request-target', () => {
  let cluster: EtcdCluster;
  let worker: Worker;
  let base: string;
  const backends = new Backends();

  beforeAll(async () => {
    cluster = await startEtcd();
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    for (const service of ['orders', 'billing']) {
      const record = native.encode({ service, url: (await backends.start(service)).url });
      await etcd.put(record.key, record.value);
    }
    worker = await startTestWorker('etcd-edge-dot-segments', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
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

  /** Which backend answered and the path it was asked for. */
  async function reached(target: string): Promise<{ backend: string; url: string }> {
    const res = await rawRequest(base, target);
    expect(res.status, target).toBe(200);
    const { backend, url } = JSON.parse(res.body) as Echo;
    return { backend, url };
  }

  it('routes the resolved path, as if the client had sent it, and instances never see a dot segment', async () => {
    const cases: [string, string, string][] = [
      ['/svc/orders/../billing/x', 'billing', '/x'],
      ['/svc/orders/%2e%2e/billing/x', 'billing', '/x'],
      ['/svc/orders/.%2E/billing/x', 'billing', '/x'],
      ['/svc/orders\\..\\billing\\x', 'billing', '/x'],
      ['/svc/orders/a/./b/../c?q=/../z', 'orders', '/a/c?q=/../z'],
      ['/svc/orders/x/..', 'orders', '/'],
    ];
    for (const [target, backend, url] of cases) expect(await reached(target), target).toEqual({ backend, url });
  });

  it('keeps a request on the instance host: a path is appended to the instance, never read as a URL', async () => {
    expect(await reached('/svc/orders//evil.example/x')).toEqual({ backend: 'orders', url: '//evil.example/x' });
    expect(await reached('/svc/orders/x/..//evil.example/y')).toEqual({ backend: 'orders', url: '//evil.example/y' });
  });

  it('reaches the admin routes only as /_edge/ itself does: with the token', async () => {
    for (const target of ['/svc/../_edge/health', '/svc/%2e%2e/_edge/services/orders', '/svc/orders/../../_edge/health']) {
      const res = await rawRequest(base, target);
      expect(res.status, target).toBe(401);
      expect(JSON.parse(res.body), target).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('answers 404 for a path that resolves outside /svc/, and still 400 for what the runtime leaves encoded', async () => {
    for (const target of ['/svc/orders/../../x', '/svc/..']) {
      expect((await rawRequest(base, target)).status, target).toBe(404);
    }
    for (const target of ['/svc/orders/a%2f..%2fb', '/svc/orders/..%5cx', '/svc/orders/..', '/svc/orders/..//evil.example/x']) {
      const res = await rawRequest(base, target);
      expect(res.status, target).toBe(400);
      expect(JSON.parse(res.body), target).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
  });
});
