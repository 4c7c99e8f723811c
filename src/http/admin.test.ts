import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdClient } from '../etcd/index.js';
import { closeAll, errorOf, setup, type SetupOptions } from '../testing/internal/gateway.js';

afterEach(closeAll);

const TOKEN = 'admin-token-0123456789';
const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const auth = { authorization: `Bearer ${TOKEN}` };

async function admin(options: SetupOptions = {}) {
  const clock = { now: 1_800_000_000_000 };
  const h = await setup({ now: () => clock.now, ...options, env: { ADMIN_TOKEN: TOKEN, ...options.env } });
  return { ...h, clock, get: (path: string) => h.request(path, { headers: auth }) };
}

describe('admin routes', () => {
  it('do not exist without ADMIN_TOKEN', async () => {
    const h = await setup({ exposeMetrics: true });
    for (const path of ['/_edge/health', '/_edge/services/orders', '/_edge/metrics']) {
      const response = await h.request(path, { headers: auth });
      expect(response.status, path).toBe(404);
      expect((await errorOf(response)).code).toBe('NOT_FOUND');
    }
  });

  it('need the bearer token', async () => {
    const h = await admin({ exposeMetrics: true });
    const wrong = [
      {},
      { authorization: '' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
      { authorization: 'Bearer admin-token-012345678' },
      { authorization: 'Bearer admin-token-01234567890' },
      { authorization: 'Bearer admin-token-012345678X' },
      { authorization: 'Bearer ' },
    ];
    for (const path of ['/_edge/health', '/_edge/services/orders', '/_edge/metrics', '/_edge/nothing']) {
      for (const headers of wrong) {
        const response = await h.request(path, { headers });
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(await errorOf(response)).toEqual({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
      }
    }
    expect((await h.get('/_edge/nothing')).status).toBe(404);
    expect(h.etcd.calls.get('/v3/kv/range') ?? 0).toBe(0);
  });

  it('/_edge/health reports etcd and the services held, with their age', async () => {
    const h = await admin({ instances: [{ service: 'orders', url: A }, { service: 'orders', url: B }] });
    const empty = await h.get('/_edge/health');
    expect(empty.status).toBe(200);
    expect(empty.headers.get('cache-control')).toBe('no-store');
    expect(await empty.json()).toMatchObject({ status: 'ok', etcd: { reachable: true, latencyMs: 0 }, services: [] });

    expect((await h.request('/svc/orders/x')).status).toBe(200);
    // Names without instances are counted, not listed: made-up names cannot flood the view.
    for (const name of ['nobody-1', 'nobody-2']) expect((await h.request(`/svc/${name}/x`)).status).toBe(503);
    h.clock.now += 1_500;
    const body = (await (await h.get('/_edge/health')).json()) as Record<string, unknown>;
    expect(body).toEqual({
      status: 'ok',
      etcd: { reachable: true, latencyMs: 0 },
      services: [{ service: 'orders', instances: 2, revision: h.etcd.revision, ageMs: 1_500, watched: false }],
      servicesWithoutInstances: 2,
      cache: expect.objectContaining({ misses: 3, refreshes: 3 }),
    });

    h.etcd.faults().down = true;
    const down = (await (await h.get('/_edge/health')).json()) as { status: string; etcd: { reachable: boolean; error: string }; services: unknown[] };
    expect(down.status).toBe('degraded');
    expect(down.etcd.reachable).toBe(false);
    expect(down.etcd).toEqual({ reachable: false, error: 'ETCD_UNAVAILABLE', reason: 'connection refused' });
    expect(JSON.stringify(down)).not.toContain('etcd.fake');
    expect(down.services).toHaveLength(1);
  });

  it('/_edge/health gives up on an etcd that holds its reads (no quorum) after 2 s, with a stable code', async () => {
    const h = await admin({ instances: [{ service: 'orders', url: A }] });
    expect((await h.request('/svc/orders/x')).status).toBe(200);
    h.etcd.faults().delayMs = 60_000;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = h.get('/_edge/health');
      await vi.advanceTimersByTimeAsync(2_000);
      const body = (await (await pending).json()) as { status: string; etcd: object; services: unknown[] };
      expect(body.status).toBe('degraded');
      expect(body.etcd).toEqual({ reachable: false, error: 'ETCD_TIMEOUT', reason: 'timed out' });
      expect(body.services).toEqual([expect.objectContaining({ service: 'orders', instances: 1 })]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('/_edge/services/:service shows instances, weights, skipped records, revision and ejection state', async () => {
    const h = await admin({
      instances: [
        { service: 'orders', url: A, weight: 3, tags: { version: 'v1' } },
        { service: 'orders', url: B, weight: 0 },
        { service: 'orders', url: 'http://169.254.169.254:80' },
      ],
      script: () => ({ error: 'connect' }),
    });
    await h.etcd.fetch(`${h.etcd.endpoints[0]}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: btoa('services/orders/broken'), value: btoa('not json') }) });
    expect((await h.request('/svc/orders/x')).status).toBe(502);

    const response = await h.get('/_edge/services/orders');
    expect(response.status).toBe(200);
    const view = (await response.json()) as Record<string, unknown> & { instances: Record<string, unknown>[]; skipped: Record<string, unknown>[] };
    expect(view).toMatchObject({ service: 'orders', revision: h.etcd.revision, ageMs: 0, watched: false });
    expect(view.instances).toHaveLength(2);
    expect(view.instances[0]).toMatchObject({ id: '10.0.0.1:8080', url: A, weight: 3, tags: { version: 'v1' }, layout: 'native', key: 'services/orders/10.0.0.1:8080' });
    expect(view.instances[0]!.ejection).toMatchObject({ url: A, consecutiveFailures: 1, ejections: 0, inFlight: 0 });
    expect(view.instances[1]).toMatchObject({ url: B, weight: 0 });
    expect(view.instances[1]).not.toHaveProperty('ejection');
    expect(view.skipped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'services/orders/broken', layout: 'native' }),
        { key: 'services/orders/169.254.169.254:80', layout: 'native', reason: 'address policy: 169.254.169.254 is denied (169.254.0.0/16)' },
      ]),
    );
    expect(view.skipped).toHaveLength(2);
  });

  it('shows lease IDs in hex, as etcdctl and etcd-edge ls do', async () => {
    const h = await admin();
    const client = new EtcdClient({ endpoints: h.etcd.endpoints, fetch: h.etcd.fetch });
    const { id } = await client.leaseGrant(60, { id: '7587855479459487233' });
    await client.put('services/orders/10.0.0.1:8080', JSON.stringify({ Op: 0, Addr: A }), { lease: id });
    const view = (await (await h.get('/_edge/services/orders')).json()) as { instances: { leaseId: string }[] };
    expect(view.instances).toMatchObject([{ url: A, leaseId: '694d7a5b3c2f1e01' }]);
  });

  it('/_edge/health never shows a watched service younger than now (the clock moves between reads)', async () => {
    let clock = 1_800_000_000_000;
    const h = await admin({ env: { ETCD_EDGE_WATCH: 'true' }, now: () => clock++, instances: [{ service: 'orders', url: A }] });
    expect((await h.request('/svc/orders/x')).status).toBe(200);
    const body = (await (await h.get('/_edge/health')).json()) as { services: { watched: boolean; ageMs: number }[] };
    expect(body.services).toMatchObject([{ service: 'orders', watched: true }]);
    expect(body.services[0]!.ageMs).toBeGreaterThanOrEqual(0);
  });

  it('/_edge/services/:service refuses bad names', async () => {
    const h = await admin();
    const response = await h.get('/_edge/services/a%20b');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe('BAD_REQUEST');
  });

  it('/_edge/metrics exists only when exposed, and counts requests by service and status', async () => {
    const hidden = await admin();
    expect((await hidden.get('/_edge/metrics')).status).toBe(404);

    const h = await admin({ exposeMetrics: true, instances: [{ service: 'orders', url: A }], script: (r) => (r.path === '/fail' ? { error: 'connect' } : r.path === '/weird' ? { status: 700 } : { status: 200 }) });
    await h.request('/svc/orders/a');
    await h.request('/svc/orders/b');
    await h.request('/svc/orders/fail');
    expect((await h.request('/svc/orders/weird')).status).toBe(502);
    await h.request('/svc/bad%20name/x');
    const response = await h.get('/_edge/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = (await response.text()).split('\n');
    expect(lines.filter((l) => l.startsWith('etcd_edge_requests_total'))).toHaveLength(3);
    expect(lines).toEqual(
      expect.arrayContaining([
        '# TYPE etcd_edge_requests_total counter',
        'etcd_edge_requests_total{service="orders",status="200"} 2',
        'etcd_edge_requests_total{service="orders",status="502"} 2',
        'etcd_edge_requests_total{service="_unrouted",status="400"} 1',
        'etcd_edge_upstream_duration_seconds_count 3',
        'etcd_edge_cache_misses_total 1',
        'etcd_edge_cache_hits_total 3',
        'etcd_edge_cache_refreshes_total 1',
        '# TYPE etcd_edge_cache_hits_total counter',
        'etcd_edge_etcd_calls_total{outcome="ok"} 1',
        'etcd_edge_etcd_calls_total{outcome="error"} 0',
        'etcd_edge_watches 0',
      ]),
    );
  });
});
