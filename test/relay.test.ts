import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshot, loadService, Resolver } from '../src/discovery/index.js';
import { EtcdClient } from '../src/etcd/index.js';
import { nativeLayout } from '../src/registry/index.js';
import { SnapshotRelay, type RelayOptions } from '../src/relay/index.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { until } from './support/until.js';

const TOKEN = 'relay-test-token';
const native = nativeLayout();
let cluster: EtcdCluster;
let etcd: EtcdClient;
let relay: SnapshotRelay;
let resolver: Resolver;
let count = 0;

function makeRelay(options: Partial<RelayOptions> = {}): { relay: SnapshotRelay; resolver: Resolver } {
  const resolver = new Resolver({ etcd, watch: true, layouts: [native], staleWhileRevalidateMs: 0 });
  return { resolver, relay: new SnapshotRelay({ resolver, etcd, probeKey: 'services/', tokens: ['old-token', TOKEN], pollMs: 20, ...options }) };
}

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
  ({ relay, resolver } = makeRelay());
});

afterAll(async () => {
  relay?.release();
  resolver?.close();
  await cluster?.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

function get(path: string, headers: Record<string, string> = {}, signal?: AbortSignal, on = relay): Promise<Response> {
  return Promise.resolve(on.app.request(path, { headers: { ...auth, ...headers }, ...(signal ? { signal } : {}) }));
}

async function put(service: string, id: string, options: { lease?: string; weight?: number } = {}): Promise<void> {
  const record = native.encode({ service, url: `http://10.0.0.${id}:8080`, id, weight: options.weight ?? 1 });
  await etcd.put(record.key, record.value, options.lease ? { lease: options.lease } : {});
}

interface Body {
  service: string;
  revision: number;
  instances: { id: string; leaseId?: string }[];
  skipped: unknown[];
  ageMs: number;
  stale: boolean;
}

/** What etcd holds for the service, as the relay should serve it. */
async function held(service: string): Promise<string> {
  const loaded = await loadService(etcd, [native], service, { pageSize: 1000 });
  const snapshot = buildSnapshot(service, loaded.records.values(), loaded.revision, 0);
  return JSON.stringify([snapshot.instances, snapshot.skipped]);
}

async function served(service: string): Promise<Body> {
  const response = await get(`/v1/services/${service}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Body;
}

const name = (): string => `relay-${++count}`;

describe('snapshot relay', () => {
  it('serves what etcd holds after puts, deletes and a lease expiry', async () => {
    const service = name();
    await put(service, '1');
    await put(service, '2', { weight: 5 });
    const first = await served(service);
    expect(JSON.stringify([first.instances, first.skipped])).toBe(await held(service));
    expect(first).toMatchObject({ service, stale: false });
    const lease = await etcd.leaseGrant(1);
    await put(service, '3', { lease: lease.id });
    await etcd.delete(native.encode({ service, url: 'http://10.0.0.1:8080', id: '1' }).key);
    await until(async () => (await served(service)).instances.map((i) => i.id).join() === '2,3');
    expect((await served(service)).instances[1]!.leaseId).toBe(lease.id);
    expect(JSON.stringify([(await served(service)).instances, []])).toBe(await held(service));
    await until(async () => (await served(service)).instances.length === 1, 8_000);
    expect(JSON.stringify([(await served(service)).instances, []])).toBe(await held(service));
  });

  it('answers a matching If-None-Match with 304 and the ETag, a stale one with 200', async () => {
    const service = name();
    await put(service, '1');
    const response = await get(`/v1/services/${service}`);
    const etag = response.headers.get('etag')!;
    const body = (await response.json()) as Body;
    expect(etag).toBe(`"${body.revision}"`);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const again = await get(`/v1/services/${service}`, { 'if-none-match': etag });
    expect([again.status, again.headers.get('etag'), await again.text()]).toEqual([304, etag, '']);
    expect((await get(`/v1/services/${service}`, { 'if-none-match': '"1"' })).status).toBe(200);
  });

  it('holds a long-poll until the service changes, and answers 304 when the wait ends unchanged', async () => {
    const service = name();
    await put(service, '1');
    const etag = (await get(`/v1/services/${service}`)).headers.get('etag')!;
    const started = Date.now();
    const timedOut = await get(`/v1/services/${service}?wait=300`, { 'if-none-match': etag });
    expect(timedOut.status).toBe(304);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const woken = get(`/v1/services/${service}?wait=10000`, { 'if-none-match': etag });
    await new Promise((r) => setTimeout(r, 200));
    await put(service, '2');
    const response = await woken;
    expect(response.status).toBe(200);
    const body = (await response.json()) as Body;
    expect(body.instances.map((i) => i.id)).toEqual(['1', '2']);
    expect(response.headers.get('etag')).toBe(`"${body.revision}"`);
    expect(relay.waiting).toBe(0);
  });

  it('does not wake a long-poll for changes to other services', async () => {
    const service = name();
    const other = name();
    await put(service, '1');
    await put(other, '1');
    await served(other);
    const etag = (await get(`/v1/services/${service}`)).headers.get('etag')!;
    const poll = get(`/v1/services/${service}?wait=1000`, { 'if-none-match': etag });
    for (let i = 2; i < 6; i++) await put(other, String(i));
    expect((await poll).status).toBe(304);
    expect((await get(`/v1/services/${service}`)).headers.get('etag')).toBe(etag);
  });

  it('lets go of a long-poll whose client went away', async () => {
    const service = name();
    await put(service, '1');
    const etag = (await get(`/v1/services/${service}`)).headers.get('etag')!;
    const gone = new AbortController();
    const poll = get(`/v1/services/${service}?wait=30000`, { 'if-none-match': etag }, gone.signal).catch(() => undefined);
    await until(() => relay.waiting === 1);
    gone.abort();
    await until(() => relay.waiting === 0, 2_000);
    await poll;
  });

  it('serves a name nobody registered as empty, refuses bad names and waits with 400', async () => {
    const unknown = await served(name());
    expect([unknown.instances, unknown.skipped]).toEqual([[], []]);
    const bad = await get('/v1/services/bad%20name');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    for (const wait of ['-1', 'abc', '1.5', '']) expect((await get(`/v1/services/x?wait=${wait}`)).status).toBe(400);
    expect((await get('/v1/services/x?wait=999999')).status).toBe(200);
  });

  it('wants a valid bearer token on every route', async () => {
    for (const headers of [{ authorization: '' }, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }]) {
      for (const path of ['/v1/services/x', '/health', '/metrics', '/v1/health', '/v1/metrics']) {
        const response = await get(path, headers);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      }
    }
    expect((await get('/health', { authorization: 'Bearer old-token' })).status).toBe(200);
  });

  it('answers 429 with Retry-After past a client’s rate, and caps its long-polls', async () => {
    const limited = makeRelay({ limits: { ratePerSecond: 1, burst: 3, maxWaitsPerClient: 1 }, clientAddress: () => '203.0.113.7' });
    try {
      const service = name();
      await put(service, '1');
      const etag = (await get(`/v1/services/${service}`, {}, undefined, limited.relay)).headers.get('etag')!;
      const poll = get(`/v1/services/${service}?wait=2000`, { 'if-none-match': etag }, undefined, limited.relay);
      const second = await get(`/v1/services/${service}?wait=2000`, { 'if-none-match': etag }, undefined, limited.relay);
      expect(second.status).toBe(429);
      const flooded = await get(`/v1/services/${service}`, {}, undefined, limited.relay);
      expect(flooded.status).toBe(429);
      expect(Number(flooded.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await flooded.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      limited.relay.release();
      expect((await poll).status).toBe(304);
    } finally {
      limited.resolver.close();
    }
  });

  it('counts in /metrics: requests by route and status (200 and 304 apart), 429s by reason, held long-polls, services, watches, etcd', async () => {
    const counted = makeRelay({ limits: { ratePerSecond: 1, burst: 5, maxWaitsPerClient: 1 }, clientAddress: (c) => c.req.header('x-client') });
    let scrapes = 0;
    const metric = async (line: string): Promise<number | undefined> => {
      // Each scrape from an address of its own: the scraper is rate limited too.
      const text = await (await get('/metrics', { 'x-client': `scraper-${++scrapes}` }, undefined, counted.relay)).text();
      const found = text.split('\n').find((l) => l.startsWith(`${line} `));
      return found === undefined ? undefined : Number(found.slice(line.length + 1));
    };
    try {
      const service = name();
      await put(service, '1');
      const client = { 'x-client': '203.0.113.9' };
      const etag = (await get(`/v1/services/${service}`, client, undefined, counted.relay)).headers.get('etag')!;
      expect((await get(`/v1/services/${service}`, { ...client, 'if-none-match': etag }, undefined, counted.relay)).status).toBe(304);
      const poll = get(`/v1/services/${service}?wait=5000`, { ...client, 'if-none-match': etag }, undefined, counted.relay);
      await until(() => counted.relay.waiting === 1);
      expect((await get(`/v1/services/${service}?wait=5000`, { ...client, 'if-none-match': etag }, undefined, counted.relay)).status).toBe(429);
      expect((await get(`/v1/services/${service}`, { authorization: 'Bearer wrong', ...client }, undefined, counted.relay)).status).toBe(401);
      expect((await get(`/v1/services/${service}`, client, undefined, counted.relay)).status).toBe(429);
      expect(await metric('etcd_edge_relay_long_polls')).toBe(1);
      expect(await metric('etcd_edge_relay_requests_total{route="service",status="200"}')).toBe(1);
      expect(await metric('etcd_edge_relay_requests_total{route="service",status="304"}')).toBe(1);
      expect(await metric('etcd_edge_relay_requests_total{route="service",status="429"}')).toBe(2);
      expect(await metric('etcd_edge_relay_requests_total{route="service",status="401"}')).toBe(1);
      expect(await metric('etcd_edge_relay_rate_limited_total{reason="long_polls"}')).toBe(1);
      expect(await metric('etcd_edge_relay_rate_limited_total{reason="rate"}')).toBe(1);
      expect(await metric('etcd_edge_relay_services')).toBe(1);
      expect(await metric('etcd_edge_relay_watches')).toBe(1);
      expect(await metric('etcd_edge_relay_etcd_up')).toBe(1);
      expect(await metric('etcd_edge_relay_stale_services')).toBe(0);
      // The scrapes before this one are counted too.
      expect(await metric('etcd_edge_relay_requests_total{route="metrics",status="200"}')).toBe(11);
      await put(service, '2');
      expect((await poll).status).toBe(200);
      expect(await metric('etcd_edge_relay_long_polls')).toBe(0);
      expect(await metric('etcd_edge_relay_requests_total{route="service",status="200"}')).toBe(2);
    } finally {
      counted.relay.release();
      counted.resolver.close();
    }
  });

  it('serves what it holds, stale and aging, while etcd is down; health says degraded; nothing held is 503', async () => {
    const service = name();
    await put(service, '1');
    expect((await served(service)).stale).toBe(false);
    const health = await get('/health');
    expect(await health.json()).toMatchObject({ status: 'ok', etcd: { reachable: true } });
    await cluster.members[0]!.stop();
    await until(async () => (await served(service)).stale, 10_000);
    const first = await served(service);
    await new Promise((r) => setTimeout(r, 300));
    const later = await served(service);
    expect(later.instances.map((i) => i.id)).toEqual(['1']);
    expect(later.ageMs).toBeGreaterThan(first.ageMs);
    await until(async () => ((await (await get('/health')).json()) as { status: string }).status === 'degraded', 5_000);
    const text = await (await get('/health')).text();
    expect(text).not.toContain('127.0.0.1');
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('etcd_edge_relay_etcd_up 0\n');
    expect(Number(/^etcd_edge_relay_stale_services (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^etcd_edge_relay_stale_seconds ([\d.]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    const missing = await get(`/v1/services/${name()}`);
    expect(missing.status).toBe(503);
    expect(missing.headers.get('retry-after')).not.toBeNull();
    const error = await missing.text();
    expect(error).toContain('ETCD_UNAVAILABLE');
    expect(error).not.toContain('127.0.0.1');
  });
});
