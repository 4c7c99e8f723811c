import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdClient, type FetchLike } from '../../etcd/index.js';
import { nativeLayout } from '../../registry/index.js';
import { FakeEtcd } from '../../testing/index.js';

/**
 * The Worker's zone is its isolate's colo (`request.cf.colo`), read until a
 * request carries one (embed.ts). Miniflare gives every request a `cf`, so the
 * workerd tests never see a request without one: these requests are made here,
 * each test with the module loaded afresh (the colo is kept per isolate, in
 * module state).
 */
const etcds: FakeEtcd[] = [];

afterEach(() => {
  for (const etcd of etcds.splice(0)) etcd.close();
  vi.resetModules();
});

/** `zoned` with one instance in AMS and one in FRA, picked in turn (round-robin) when no zone is preferred. */
async function zonedWorker() {
  const etcd = new FakeEtcd();
  etcds.push(etcd);
  const client = new EtcdClient({ endpoints: etcd.endpoints, fetch: etcd.fetch });
  for (const [zone, url] of [['AMS', 'http://ams.orders.example.com'], ['FRA', 'http://fra.orders.example.com']] as const) {
    const record = nativeLayout().encode({ service: 'zoned', url, tags: { zone } });
    await client.put(record.key, record.value);
  }
  const reached: string[] = [];
  const upstreamFetch: FetchLike = async (input) => {
    reached.push(new URL(String(input)).hostname.split('.')[0]!);
    return new Response('ok');
  };
  const { workerEdge } = await import('./embed.js');
  const edge = workerEdge({ etcdFetch: () => etcd.fetch, upstreamFetch: () => upstreamFetch });
  const env = { ETCD_ENDPOINTS: etcd.endpoints.join(','), ETCD_EDGE_STRATEGY: 'round-robin' };
  const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} };
  /** Where `count` requests went, each carrying `colo` in its `cf` (none: a request without `cf`, as a service binding's). */
  const send = async (count: number, colo?: string): Promise<string[]> => {
    const before = reached.length;
    for (let i = 0; i < count; i++) {
      const request = new Request('http://gateway.test/svc/zoned/');
      if (colo !== undefined) Object.defineProperty(request, 'cf', { value: { colo } });
      const response = await edge.fetch(request, env, ctx);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    return reached.slice(before);
  };
  return { send };
}

describe("the Worker's zone from request.cf.colo", () => {
  it('prefers no zone while requests carry no cf, then settles on the colo of the first that does, and keeps it', async () => {
    const { send } = await zonedWorker();
    expect(new Set(await send(4))).toEqual(new Set(['ams', 'fra']));
    expect(await send(1, 'AMS')).toEqual(['ams']);
    // Later requests without cf (or naming another colo) stay in the isolate's colo: it is read once.
    expect(await send(4)).toEqual(['ams', 'ams', 'ams', 'ams']);
    expect(await send(2, 'FRA')).toEqual(['ams', 'ams']);
  });

  it('takes an isolate to have no colo after 100 requests in a row without one', async () => {
    const { send } = await zonedWorker();
    expect(new Set(await send(100))).toEqual(new Set(['ams', 'fra']));
    expect(new Set(await send(4, 'AMS'))).toEqual(new Set(['ams', 'fra']));
  });
});
