import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_IP, closeAll, errorOf, setup } from '../testing/internal/gateway.js';
import { signalLink } from './inbound.js';
import type { Outcome } from './outcome.js';
import type { ProxyHandler } from './outcome.js';
import { proxyOutcome } from './outcome.js';

afterEach(closeAll);

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';
const orders = (...urls: string[]) => urls.map((url) => ({ service: 'orders', url }));

function fields(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-junk-${i}`, 'j']));
}

describe('request header fields', () => {
  it('refuses more than ETCD_EDGE_MAX_HEADERS with 431 before any lookup, and never truncates', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_MAX_HEADERS: '20' } });
    const flooded = await h.request('/svc/orders/x', { headers: { forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6', ...fields(19) } });
    expect(flooded.status).toBe(431);
    expect(await errorOf(flooded)).toMatchObject({ code: 'TOO_MANY_HEADERS', message: 'a request may carry at most 20 header fields' });
    expect(h.upstream.sent).toHaveLength(0);

    const full = await h.request('/svc/orders/x', { headers: fields(20) });
    expect(full.status).toBe(200);
    const sent = h.upstream.sent[0]!.headers;
    for (const name of ['x-forwarded-for', 'forwarded', 'via', 'x-request-id', 'x-junk-0', 'x-junk-19']) expect(sent.has(name), name).toBe(true);
  });

  it('holds for admin routes too', async () => {
    const token = 'admin-token-0123456789';
    const h = await setup({ env: { ADMIN_TOKEN: token, ETCD_EDGE_MAX_HEADERS: '5' } });
    expect((await h.request('/_edge/health', { headers: { authorization: `Bearer ${token}`, ...fields(5) } })).status).toBe(431);
    expect((await h.request('/_edge/health', { headers: { authorization: `Bearer ${token}`, ...fields(4) } })).status).toBe(200);
  });

  it('allows 100 fields by default', async () => {
    const h = await setup({ instances: orders(A) });
    expect((await h.request('/svc/orders/', { headers: fields(100) })).status).toBe(200);
    expect((await h.request('/svc/orders/', { headers: fields(101) })).status).toBe(431);
  });
});

describe('TRACE', () => {
  // A Web `Request` cannot carry TRACE; Node's listener hands the proxy its own inbound request, as here.
  const trace = (proxy: ProxyHandler) =>
    proxyOutcome(proxy, {
      method: 'TRACE',
      path: '/svc/orders/x',
      query: '',
      fields: ['host', 'edge.example'],
      ip: CLIENT_IP,
      proto: 'http',
      host: 'edge.example',
      zone: undefined,
      hasBody: false,
      readBody: () => Promise.resolve(new Uint8Array(0)),
      streamBody: () => null,
      upgrade: false,
      client: signalLink(new AbortController().signal),
      waitUntil: undefined,
    });

  it('is answered 405 with Allow, never forwarded, unless ETCD_EDGE_ALLOW_TRACE is on', async () => {
    const h = await setup({ instances: orders(A) });
    const refused = await trace(h.gateway.proxy);
    expect(refused).toMatchObject({ kind: 'error', error: { status: 405 } });
    const parts = (refused as Extract<Outcome, { kind: 'error' }>).error;
    expect(parts.fields).toContain('allow');
    expect(parts.fields[parts.fields.indexOf('allow') + 1]).not.toContain('TRACE');
    expect(JSON.parse(parts.body).error.code).toBe('METHOD_NOT_ALLOWED');
    expect(h.upstream.sent).toHaveLength(0);

    const open = await setup({ instances: orders(A), env: { ETCD_EDGE_ALLOW_TRACE: 'true' } });
    expect(await trace(open.gateway.proxy)).toMatchObject({ kind: 'answer', response: { status: 200 } });
    expect(open.upstream.sent[0]!.method).toBe('TRACE');
  });
});

describe('loop detection', () => {
  const passes = (n: number, entry = '1.1 etcd-edge-d1') => Array.from({ length: n }, () => entry).join(', ');

  it('answers 508 once a request has passed this deployment ETCD_EDGE_MAX_HOPS times', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_DEPLOYMENT: 'd1', ETCD_EDGE_MAX_HOPS: '3' } });
    const looped = await h.request('/svc/orders/x', { headers: { via: `1.0 cdn, ${passes(3)}` } });
    expect(looped.status).toBe(508);
    expect(await errorOf(looped)).toMatchObject({ code: 'LOOP_DETECTED', service: 'orders' });
    expect(h.upstream.sent).toHaveLength(0);

    expect((await h.request('/svc/orders/x', { headers: { via: passes(2) } })).status).toBe(200);
    expect(h.upstream.sent[0]!.headers.get('via')).toBe(`${passes(2)}, 1.1 etcd-edge-d1`);
  });

  it('counts only its own deployment: other gateways on the way are not a loop', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_DEPLOYMENT: 'd1' } });
    expect((await h.request('/svc/orders/x', { headers: { via: `${passes(20, '1.1 etcd-edge-other')}, ${passes(20, '1.1 etcd-edge')}` } })).status).toBe(200);
    expect((await h.request('/svc/orders/x', { headers: { via: passes(8) } })).status).toBe(508);
  });
});

describe('request body size', () => {
  it('refuses a declared Content-Length over ETCD_EDGE_MAX_BODY_BYTES with 413 before any instance is contacted', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_MAX_BODY_BYTES: '10' } });
    const large = await h.request('/svc/orders/up', { method: 'POST', body: '12345678901', headers: { 'content-length': '11' } });
    expect(large.status).toBe(413);
    expect(await errorOf(large)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'the request body may be at most 10 bytes' });
    expect(h.upstream.sent).toHaveLength(0);
    expect((await h.request('/svc/orders/up', { method: 'POST', body: '1234567890', headers: { 'content-length': '10' } })).status).toBe(200);
  });

  it('cuts a streamed body once it passes the limit, answers 413, and does not blame the instance', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_MAX_BODY_BYTES: '10', ETCD_EDGE_EJECT_AFTER: '1' } });
    const chunks = ['12345', '67890', 'X'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const cut = await h.request('/svc/orders/up', { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(cut.status).toBe(413);
    expect((await errorOf(cut)).code).toBe('PAYLOAD_TOO_LARGE');
    expect(h.upstream.sent).toHaveLength(1);
    // With ETCD_EDGE_EJECT_AFTER=1 one failure blamed on the instance would eject it.
    expect(h.gateway.metrics.render(h.gateway.resolver.stats, 0)).toContain('etcd_edge_ejections_total 0');
    expect((await h.request('/svc/orders/ok')).status).toBe(200);
  });

  it('streams any size when no limit is set', async () => {
    const h = await setup({ instances: orders(A) });
    const big = 'x'.repeat(1 << 20);
    expect((await h.request('/svc/orders/up', { method: 'POST', body: big })).status).toBe(200);
    expect(h.upstream.sent[0]!.body).toHaveLength(1 << 20);
  });
});

describe('client address', () => {
  it('drops X-Real-IP, True-Client-IP and CF-Connecting-IP from peers that are not trusted proxies', async () => {
    const h = await setup({ instances: orders(A) });
    await h.request('/svc/orders/', { headers: { 'x-real-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'cf-connecting-ip': '6.6.6.6', 'x-forwarded-for': '6.6.6.6' } });
    const sent = h.upstream.sent[0]!.headers;
    for (const name of ['x-real-ip', 'true-client-ip', 'cf-connecting-ip']) expect(sent.has(name), name).toBe(false);
    expect(sent.get('x-forwarded-for')).toBe(`6.6.6.6, ${CLIENT_IP}`);
  });

  it('takes the client from X-Forwarded-For only when the peer is a trusted proxy (the hash strategy on ip shows which)', async () => {
    const spread = async (env: Record<string, string>): Promise<number> => {
      const h = await setup({ instances: orders(A, B, C), env: { ETCD_EDGE_STRATEGY: 'hash', ...env } });
      for (let i = 0; i < 30; i++) await h.request('/svc/orders/', { headers: { 'x-forwarded-for': `198.51.100.${i}`, 'x-real-ip': '198.51.100.1' } });
      return new Set(h.upstream.origins).size;
    };
    expect(await spread({})).toBe(1);
    expect(await spread({ ETCD_EDGE_TRUSTED_PROXIES: '203.0.113.0/24' })).toBeGreaterThan(1);
  });

  it('keeps the client-address fields a trusted proxy set', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_TRUSTED_PROXIES: CLIENT_IP } });
    await h.request('/svc/orders/', { headers: { 'x-real-ip': '198.51.100.7' } });
    expect(h.upstream.sent[0]!.headers.get('x-real-ip')).toBe('198.51.100.7');
  });
});
