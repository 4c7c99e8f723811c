import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { TEST_WORKER_CONFIG, type Worker } from '../support/workerd.js';

const GATEWAY = new URL('../../src/adapters/worker/index.ts', import.meta.url).pathname;
const ADMIN = 'admin-token-0123456789';

/**
 * A stand-in for an `[[mtls_certificates]]` binding. workerd cannot present a
 * real client certificate locally (wrangler binds mTLS certificates only
 * remotely), so the binding is a Fetcher whose calls land here, in Node: each
 * is recorded and sent on with Node's fetch. A call counted here went through
 * `env[NAME].fetch`, not the Worker's global fetch.
 */
class CertificateStandIn {
  readonly urls: string[] = [];

  readonly fetcher = async (request: Request): Promise<Response> => {
    this.urls.push(request.url);
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
    const answer = await fetch(request.url, { method: request.method, headers: request.headers, body, redirect: 'manual' });
    // Node's fetch has decoded the body; its length and encoding fields no longer describe it.
    const headers = new Headers(answer.headers);
    headers.delete('content-encoding');
    headers.delete('content-length');
    return new Response(await answer.arrayBuffer(), { status: answer.status, headers });
  };

  /** How many recorded calls went to this origin. */
  callsTo(origin: string): number {
    return this.urls.filter((url) => url.startsWith(`${origin}/`)).length;
  }
}

type Bindings = NonNullable<Parameters<typeof unstable_startWorker>[0]['bindings']>;

function startWorker(name: string, vars: Record<string, string>, extra: Bindings = {}, dev: { persist?: string } = {}): Promise<Worker> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  return unstable_startWorker({
    name,
    config: TEST_WORKER_CONFIG,
    entrypoint: GATEWAY,
    compatibilityDate: '2026-04-01',
    bindings: { ...Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: 'plain_text' as const, value }])), ...extra },
    ...(dev.persist ? { migrations: [{ tag: 'v1', new_sqlite_classes: ['SnapshotHub'] }] } : {}),
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, logLevel: 'error', persist: dev.persist ?? false },
  });
}

describe('Worker over mTLS certificate bindings (workerd, real etcd)', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let worker: Worker | undefined;
  let persist: string;
  const etcdOrigin = (): string => cluster.endpoints[0]!;

  beforeAll(async () => {
    [cluster, backend, persist] = await Promise.all([startEtcd(), Backend.start('certified'), mkdtemp(join(tmpdir(), 'etcd-edge-mtls-'))]);
    const record = nativeLayout().encode({ service: 'certified', url: backend.url, id: 'one' });
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

  const vars = (more: Record<string, string>): Record<string, string> => ({
    ETCD_ENDPOINTS: cluster.endpoints.join(','),
    ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    ADMIN_TOKEN: ADMIN,
    ...more,
  });

  it('reads etcd through ETCD_EDGE_ETCD_MTLS and reaches instances through ETCD_EDGE_UPSTREAM_MTLS', async () => {
    const etcdCert = new CertificateStandIn();
    const instanceCert = new CertificateStandIn();
    worker = await startWorker(
      'etcd-edge-mtls',
      vars({ ETCD_EDGE_USE_HUB: 'off', ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT', ETCD_EDGE_UPSTREAM_MTLS: 'INSTANCE_CERT' }),
      { ETCD_CERT: { type: 'fetcher', fetcher: etcdCert.fetcher }, INSTANCE_CERT: { type: 'fetcher', fetcher: instanceCert.fetcher } },
    );
    const was = backend.requests;
    for (let i = 0; i < 3; i++) {
      const res = await worker.fetch('http://gateway.test/svc/certified/hello?x=1');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ backend: 'certified', url: '/hello?x=1' });
    }
    expect(backend.requests - was).toBe(3);
    // Every instance call went through its binding; etcd's calls through the other one, and no instance call did.
    expect(instanceCert.urls).toEqual(Array(3).fill(`${backend.url}/hello?x=1`));
    expect(etcdCert.callsTo(etcdOrigin())).toBeGreaterThan(0);
    expect(etcdCert.callsTo(backend.url)).toBe(0);
    expect(instanceCert.callsTo(etcdOrigin())).toBe(0);
  }, 60_000);

  it('with only ETCD_EDGE_ETCD_MTLS, the snapshot hub reads etcd through it too, and instances are fetched directly', async () => {
    const etcdCert = new CertificateStandIn();
    worker = await startWorker(
      'etcd-edge-mtls-hub',
      vars({ ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT' }),
      { ETCD_CERT: { type: 'fetcher', fetcher: etcdCert.fetcher }, ETCD_EDGE_HUB: { type: 'durable_object_namespace', class_name: 'SnapshotHub' } },
      { persist },
    );
    const was = backend.requests;
    expect((await worker.fetch('http://gateway.test/svc/certified/')).status).toBe(200);
    expect(backend.requests - was).toBe(1);
    // Only the hub has read etcd so far (the isolate asked the hub).
    expect(etcdCert.callsTo(etcdOrigin())).toBeGreaterThan(0);
    const health = (await (await worker.fetch('http://gateway.test/_edge/health', { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
    // The hub answered: the isolate did not fall back to reading etcd itself.
    expect(health).toMatchObject({ hub: { lastCallFailed: false, onFallback: false } });
    expect(etcdCert.callsTo(backend.url)).toBe(0);
  }, 60_000);

  it.each([
    ['ETCD_EDGE_ETCD_MTLS names a binding the Worker does not have', { ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT' }],
    ['ETCD_EDGE_UPSTREAM_MTLS names a plain variable', { ETCD_EDGE_UPSTREAM_MTLS: 'ETCD_ENDPOINTS' }],
  ])('answers 500 naming nothing inside when %s; the log names the variable, once', async (_, more) => {
    worker = await startWorker('etcd-edge-mtls-missing', vars({ ETCD_EDGE_USE_HUB: 'off', ...more }));
    // wrangler prints the Worker's console.error through Node's console.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const was = backend.requests;
    for (const path of ['/svc/certified/', '/_edge/health']) {
      const res = await worker.fetch(`http://gateway.test${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'INTERNAL' } });
      expect(text).not.toMatch(/MTLS|ETCD_CERT|ETCD_ENDPOINTS|certificate|binding|127\.0\.0\.1|stack/i);
    }
    expect(backend.requests).toBe(was);
    const variable = Object.keys(more)[0]!;
    const lines = (): string[] => logged.mock.calls.map((call) => call.join(' ')).filter((line) => line.includes('etcd-edge: configuration'));
    await until(() => lines().length > 0);
    // Lines still on their way from workerd would arrive within this.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(lines()).toEqual([expect.stringContaining(`${variable}: names`)]);
    logged.mockRestore();
  }, 60_000);
});
