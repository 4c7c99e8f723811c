import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { ADMIN_TOKEN, describeGatewayScenarios } from '../support/gateway-scenarios.js';
import { startTestWorker, type Worker } from '../support/workerd.js';

let started = 0;

describeGatewayScenarios({
  name: 'workerd',
  // workerd strips `Connection` (and so cannot say which fields it named) before the Worker runs.
  seesConnection: false,
  async start(env) {
    const worker = await startTestWorker(`etcd-edge-gateway-${++started}`, new URL('../../src/adapters/worker/index.ts', import.meta.url), env);
    const url = await worker.url;
    return { url: url.origin, close: () => worker.dispose() };
  },
});

describe('Worker address rules', () => {
  let cluster: EtcdCluster;
  let worker: Worker;

  beforeAll(async () => {
    cluster = await startEtcd();
    worker = await startTestWorker('etcd-edge-gateway-ips', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
    });
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await cluster?.close();
  });

  it('skips IP-address instances other than loopback, with the reason in the admin view', async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const backend = await Backend.start('loopback');
    try {
      for (const url of [backend.url, 'http://10.1.2.3:8080', 'http://[2001:db8::1]:8080']) {
        const record = nativeLayout().encode({ service: 'ips', url });
        await etcd.put(record.key, record.value);
      }
      for (let i = 0; i < 10; i++) expect((await worker.fetch('http://gateway.test/svc/ips/')).status).toBe(200);
      expect(backend.requests).toBe(10);
      const view = (await (await worker.fetch('http://gateway.test/_edge/services/ips', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
        skipped: { key: string; reason: string }[];
      };
      expect(view.skipped.map((s) => s.reason)).toEqual([
        expect.stringContaining('Workers cannot fetch'),
        expect.stringContaining('Workers cannot fetch'),
      ]);
    } finally {
      await backend.close();
    }
  });

  it("prefers instances in the isolate's colo (request.cf.colo, DFW under wrangler dev) and falls back to the others", async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const [here, there] = await Promise.all([Backend.start('dfw'), Backend.start('fra')]);
    try {
      for (const [url, zone, weight] of [[here.url, 'DFW', 1], [there.url, 'fra', 100]] as const) {
        const record = nativeLayout().encode({ service: 'zoned', url, weight, tags: { zone } });
        await etcd.put(record.key, record.value);
      }
      for (let i = 0; i < 10; i++) expect((await worker.fetch('http://gateway.test/svc/zoned/')).status).toBe(200);
      expect([here.requests, there.requests]).toEqual([10, 0]);
      await etcd.delete(nativeLayout().encode({ service: 'zoned', url: here.url }).key);
      // The cache keeps the old list for its TTL (2 s) and may answer from it once more while it reads again.
      for (let i = 0; i < 50 && there.requests === 0; i++) {
        expect((await worker.fetch('http://gateway.test/svc/zoned/')).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(there.requests).toBe(1);
    } finally {
      await Promise.all([here.close(), there.close()]);
    }
  });
});

describe('Worker access log', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let worker: Worker;

  beforeAll(async () => {
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('logged')]);
    const record = nativeLayout().encode({ service: 'logged', url: backend.url });
    await new EtcdClient({ endpoints: cluster.endpoints }).put(record.key, record.value);
    worker = await startTestWorker('etcd-edge-gateway-log', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ETCD_EDGE_ACCESS_LOG: 'stdout',
    });
  }, 90_000);

  afterAll(async () => {
    await worker?.dispose();
    await backend?.close();
    await cluster?.close();
  });

  it('keeps the Content-Length of an answer it logs (a body it wraps to count would go out chunked)', async () => {
    const res = await fetch(`${(await worker.url).origin}/svc/logged/bytes/100000`);
    expect(res.headers.get('content-length')).toBe('100000');
    expect((await res.arrayBuffer()).byteLength).toBe(100_000);
  });
});
