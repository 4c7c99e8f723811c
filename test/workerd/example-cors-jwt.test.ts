import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

const SECRET = 'example-secret-0123456789';
const ORIGIN = 'https://app.example';

/**
 * examples/worker-cors-jwt in workerd: the gateway imported from
 * `etcd-edge/worker` (the package's own entry, as a user's Worker imports it),
 * behind hono/cors and hono/jwt, routing to a real instance registered in real etcd.
 */
describe('example: a Worker with cors and jwt in front of the gateway (workerd)', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let worker: Worker;
  let base: string;

  beforeAll(async () => {
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('orders-1')]);
    const record = nativeLayout().encode({ service: 'orders', id: 'orders-1', url: backend.url });
    await new EtcdClient({ endpoints: cluster.endpoints }).put(record.key, record.value);
    worker = await startTestWorker('example-cors-jwt', new URL('../../examples/worker-cors-jwt/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      JWT_SECRET: SECRET,
      CORS_ORIGIN: ORIGIN,
    });
    base = (await worker.url).toString().replace(/\/$/, '');
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await Promise.all([cluster?.close(), backend?.close()]);
  });

  it('refuses /svc/ without a token, routes with one, answers the preflight, and leaves the app its own routes', async () => {
    const refused = await fetch(`${base}/svc/orders/list`);
    expect(refused.status).toBe(401);

    const token = await sign({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 60 }, SECRET, 'HS256');
    const routed = await fetch(`${base}/svc/orders/list?page=2`, { headers: { authorization: `Bearer ${token}`, origin: ORIGIN } });
    expect(routed.status).toBe(200);
    expect(routed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await routed.json()).toMatchObject({ backend: 'orders-1', url: '/list?page=2' });

    const preflight = await fetch(`${base}/svc/orders/list`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);

    expect(await (await fetch(`${base}/`)).text()).toMatch(/an app of its own/);
  });
});
