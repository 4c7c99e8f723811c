import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { freePort } from '../support/ports.js';
import { startHubWorker, type Worker } from '../support/workerd.js';

const ADMIN = 'admin-token-0123456789';
const ENTRY = new URL('./unreachable-hub.ts', import.meta.url);

/**
 * The hub fails on every call (its own etcd is a refused port) while the
 * isolate's etcd answers: with ETCD_EDGE_HUB_FALLBACK the isolate reads
 * directly and routes; without, the request fails with the gateway's 503.
 */
describe('Worker whose snapshot hub fails (workerd, real etcd)', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let persist: string;
  let closedPort: number;
  let worker: Worker | undefined;

  const vars = (fallback: string): Record<string, string> => ({
    ETCD_ENDPOINTS: cluster.endpoints.join(','),
    ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    ETCD_EDGE_HUB_FALLBACK: fallback,
    HUB_ETCD_ENDPOINTS: `http://127.0.0.1:${closedPort}`,
    ADMIN_TOKEN: ADMIN,
  });
  const health = async (): Promise<{ text: string; body: Record<string, unknown> }> => {
    const text = await (await worker!.fetch('http://gateway.test/_edge/health', { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    return { text, body: JSON.parse(text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    [cluster, backend, persist, closedPort] = await Promise.all([startEtcd(), Backend.start('direct'), mkdtemp(join(tmpdir(), 'etcd-edge-hub-fallback-')), freePort()]);
    const record = nativeLayout().encode({ service: 'fallen', url: backend.url, id: 'one' });
    await new EtcdClient({ endpoints: cluster.endpoints }).put(record.key, record.value);
  }, 90_000);

  afterEach(async () => {
    await worker?.dispose();
    worker = undefined;
  });

  afterAll(async () => {
    await Promise.all([backend?.close(), cluster?.close()]);
    if (persist) await rm(persist, { recursive: true, force: true });
  });

  it('with the fallback on, the isolate reads etcd itself and routes; health says it is on the fallback', async () => {
    worker = await startHubWorker(persist, vars('true'), { entry: ENTRY, hubClass: 'UnreachableHub' });
    expect((await health()).body).toMatchObject({ status: 'ok', hub: { lastCallFailed: false, onFallback: false } });
    for (let i = 0; i < 3; i++) expect((await worker.fetch('http://gateway.test/svc/fallen/')).status).toBe(200);
    expect(backend.requests).toBe(3);
    const { text, body } = await health();
    expect(body).toMatchObject({ status: 'degraded', etcd: { reachable: true }, hub: { name: 'etcd-edge-snapshots', fallback: true, lastCallFailed: true, onFallback: true } });
    expect(text).not.toMatch(new RegExp(`${closedPort}|EtcdError|refused|stack`, 'i'));
  }, 60_000);

  it('with the fallback off, the request fails with a JSON 503 naming nothing inside', async () => {
    worker = await startHubWorker(persist, vars('false'), { entry: ENTRY, hubClass: 'UnreachableHub' });
    const was = backend.requests;
    const res = await worker.fetch('http://gateway.test/svc/fallen/');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'ETCD_UNAVAILABLE', service: 'fallen' } });
    expect(text).not.toMatch(new RegExp(`${closedPort}|127\\.0\\.0\\.1|EtcdError|refused|Durable|stack`, 'i'));
    expect(backend.requests).toBe(was);
    expect((await health()).body).toMatchObject({ status: 'degraded', hub: { fallback: false, lastCallFailed: true, onFallback: false } });
  }, 60_000);
});
