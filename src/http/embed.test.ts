import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { cors } from 'hono/cors';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdClient, type FetchLike } from '../etcd/index.js';
import { nativeLayout } from '../registry/index.js';
import { FakeEtcd } from '../testing/index.js';
import { etcdEdge, type Edge } from './embed.js';

const etcds: FakeEtcd[] = [];
const edges: Edge[] = [];

afterEach(async () => {
  for (const edge of edges.splice(0)) await edge.close();
  for (const etcd of etcds.splice(0)) etcd.close();
});

/** A fake etcd holding one `orders` instance, and what reached instances through `upstreamFetch`. */
async function registry() {
  const etcd = new FakeEtcd();
  etcds.push(etcd);
  const record = nativeLayout().encode({ service: 'orders', id: 'a', url: 'http://10.0.0.5:8080' });
  await new EtcdClient({ endpoints: etcd.endpoints, fetch: etcd.fetch }).put(record.key, record.value);
  const reached: string[] = [];
  const upstreamFetch: FetchLike = async (input, init) => {
    reached.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return new Response('from orders', { headers: { 'content-type': 'text/plain' } });
  };
  const etcdCalls: string[] = [];
  const etcdFetch: FetchLike = async (input, init) => {
    etcdCalls.push(new URL(String(input)).pathname);
    return etcd.fetch(input, init);
  };
  return { etcd, reached, upstreamFetch, etcdFetch, etcdCalls };
}

function edgeOf(options: Parameters<typeof etcdEdge>[0]): Edge {
  const edge = etcdEdge(options);
  edges.push(edge);
  return edge;
}

describe('etcdEdge: the gateway composed into an app of ones own', () => {
  it('the whole gateway as an app, configured by variables, reaching etcd and instances through the fetches given', async () => {
    const r = await registry();
    const edge = edgeOf({ env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(','), ADMIN_TOKEN: 'admin-token-0123456789' }, etcdFetch: r.etcdFetch, upstreamFetch: r.upstreamFetch });
    const response = await edge.app.request('/svc/orders/list?x=1');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('from orders');
    expect(r.reached).toEqual(['GET http://10.0.0.5:8080/list?x=1']);
    expect(r.etcdCalls).toContain('/v3/kv/range');
    const health = await edge.app.request('/_edge/health', { headers: { authorization: 'Bearer admin-token-0123456789' } });
    expect(health.status).toBe(200);
  });

  it('behind middleware of ones own: cors and bearer auth before /svc/*, other routes of the app untouched', async () => {
    const r = await registry();
    const edge = edgeOf({ env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(',') }, etcdFetch: r.etcdFetch, upstreamFetch: r.upstreamFetch });
    const app = new Hono();
    app.use('/svc/*', cors({ origin: 'https://app.example' }), bearerAuth({ token: 'user-token' }), edge.middleware);
    app.get('/hello', (c) => c.text('mine'));

    const refused = await app.request('/svc/orders/list');
    expect(refused.status).toBe(401);
    expect(r.reached).toEqual([]);

    const routed = await app.request('/svc/orders/list', { headers: { authorization: 'Bearer user-token', origin: 'https://app.example' } });
    expect(routed.status).toBe(200);
    expect(await routed.text()).toBe('from orders');
    expect(routed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(r.reached).toEqual(['GET http://10.0.0.5:8080/list']);

    expect(await (await app.request('/hello')).text()).toBe('mine');
    expect((await app.request('/nowhere')).status).toBe(404);
  });

  it('mounted with app.route: the gateway answers its own paths, including its JSON errors', async () => {
    const r = await registry();
    const edge = edgeOf({ env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(',') }, etcdFetch: r.etcdFetch, upstreamFetch: r.upstreamFetch });
    const app = new Hono().get('/', (c) => c.text('home'));
    app.route('/', edge.app);
    expect(await (await app.request('/svc/orders/a')).text()).toBe('from orders');
    const missing = await app.request('/svc/nobody/a');
    expect(missing.status).toBe(503);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NO_INSTANCES');
    expect(await (await app.request('/')).text()).toBe('home');
  });

  it('fetch answers a /svc/ request as the app does, past the router, and a failure inside as the app does', async () => {
    const r = await registry();
    const failures: unknown[] = [];
    const edge = edgeOf({
      env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(',') },
      etcdFetch: r.etcdFetch,
      upstreamFetch: r.upstreamFetch,
      onError: (error) => failures.push(error),
      hooks: {
        clientIp: (c) => {
          paths.push(c.req.path);
          if (c.req.header('x-break') !== undefined) throw new Error('hook broke');
          return undefined;
        },
      },
    });
    const paths: string[] = [];
    const direct = await edge.fetch(new Request('http://gw.test/svc/orders/list?x=1'));
    expect(direct.status).toBe(200);
    expect(await direct.text()).toBe('from orders');
    expect(r.reached).toEqual(['GET http://10.0.0.5:8080/list?x=1']);
    const [viaApp, viaProxy] = await Promise.all([
      edge.app.request('http://gw.test/svc/orders/list', { headers: { 'x-break': '1' } }),
      edge.fetch(new Request('http://gw.test/svc/orders/list', { headers: { 'x-break': '1' } })),
    ]);
    expect([viaApp.status, viaProxy.status]).toEqual([500, 500]);
    expect(await viaProxy.json()).toEqual(await viaApp.json());
    expect(failures).toHaveLength(2);
    // Hooks see the request's path, as through the app.
    expect(paths).toEqual(['/svc/orders/list', '/svc/orders/list', '/svc/orders/list']);
    // HEAD: the gateway's error answer without its body, as the app answers it.
    const [headApp, headProxy] = await Promise.all([edge.app.request('http://gw.test/svc/nobody/x', { method: 'HEAD' }), edge.fetch(new Request('http://gw.test/svc/nobody/x', { method: 'HEAD' }))]);
    expect([headProxy.status, headProxy.headers.get('content-type'), await headProxy.text()]).toEqual([headApp.status, headApp.headers.get('content-type'), '']);
    expect(headProxy.status).toBe(503);
  });

  it('fetch runs the raw-path check first where hooks give raw paths, as the app does', async () => {
    const r = await registry();
    const edge = edgeOf({ env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(',') }, etcdFetch: r.etcdFetch, upstreamFetch: r.upstreamFetch, hooks: { rawPath: () => '/svc/other/../orders/list' } });
    const refused = await edge.fetch(new Request('http://gw.test/svc/orders/list'));
    expect(refused.status).toBe(400);
    expect(r.reached).toEqual([]);
  });

  it('typed changes after the variables, and a configuration error naming the variable', async () => {
    const r = await registry();
    const edge = edgeOf({
      env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(',') },
      configure: (config) => ({ ...config, services: ['billing'] }),
      etcdFetch: r.etcdFetch,
      upstreamFetch: r.upstreamFetch,
    });
    expect((await edge.app.request('/svc/orders/a')).status).toBe(404);
    expect(r.reached).toEqual([]);
    expect(() => etcdEdge({ env: { ETCD_ENDPOINTS: r.etcd.endpoints.join(','), ETCD_EDGE_STRATEGY: 'fastest' } })).toThrow(/ETCD_EDGE_STRATEGY/);
  });
});
