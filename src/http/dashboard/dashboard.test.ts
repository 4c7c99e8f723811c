import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, setup } from '../../testing/internal/gateway.js';

afterEach(closeAll);

const TOKEN = 'admin-token-0123456789';
const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';

async function signedIn(harness: Awaited<ReturnType<typeof setup>>): Promise<string> {
  const response = await harness.request('/_edge/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
  expect(response.status).toBe(303);
  const cookie = response.headers.get('set-cookie')!;
  return cookie.split(';')[0]!;
}

describe('dashboard at /_edge/', () => {
  it('asks for the token in a form, and keeps it as a signed HttpOnly, SameSite=Strict cookie scoped to /_edge/', async () => {
    const harness = await setup({ env: { ADMIN_TOKEN: TOKEN }, instances: [{ service: 'orders', id: 'a', url: A }] });
    const bare = await harness.request('/_edge');
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/_edge/']);
    const form = await harness.request('/_edge/');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="token"');

    const wrong = await harness.request('/_edge/login', { method: 'POST', body: new URLSearchParams({ token: 'nope' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const ok = await harness.request('/_edge/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/_edge\//);
    expect(cookie).not.toContain(TOKEN);

    await harness.request('/svc/orders/x');
    const page = await harness.request('/_edge/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).toContain('data-service="orders"');
    // The cookie opens the JSON admin routes too; a forged one opens nothing.
    expect((await harness.request('/_edge/health', { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    expect((await harness.request('/_edge/health', { headers: { cookie: 'etcd_edge_admin=dashboard-v1.forged' } })).status).toBe(401);
    expect((await harness.request('/_edge/', { headers: { cookie: 'etcd_edge_admin=dashboard-v1.forged', 'x-edge-fragment': '1' } })).status).toBe(401);
  });

  it('escapes what the registry says: a <script> in an instance id and tag is text, never markup', async () => {
    const hostile = '<script>alert(1)</script>';
    const harness = await setup({ env: { ADMIN_TOKEN: TOKEN }, instances: [{ service: 'orders', id: `a${hostile}`, url: A, tags: { zone: hostile } }] });
    await harness.request('/svc/orders/x');
    const cookie = await signedIn(harness);
    const html = await (await harness.request('/_edge/?service=orders', { headers: { cookie } })).text();
    expect(html).not.toContain(hostile);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('live view: the same fragment is 304 for its ETag, and changes when an instance registers', async () => {
    const harness = await setup({ env: { ADMIN_TOKEN: TOKEN, ETCD_EDGE_CACHE_TTL_MS: '1' }, instances: [{ service: 'orders', id: 'a', url: A }] });
    await harness.request('/svc/orders/x');
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-edge-fragment': '1' };
    const first = await harness.request('/_edge/?service=orders', { headers });
    const etag = first.headers.get('etag')!;
    const body = await first.text();
    expect(body).not.toContain('<html');
    expect(body).toContain('data-instance="a"');
    expect((await harness.request('/_edge/?service=orders', { headers: { ...headers, 'if-none-match': etag } })).status).toBe(304);
    await harness.add({ service: 'orders', id: 'b', url: B });
    await harness.request('/svc/orders/x');
    await new Promise((r) => setTimeout(r, 5));
    await harness.request('/svc/orders/x');
    const changed = await harness.request('/_edge/?service=orders', { headers: { ...headers, 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toContain('data-instance="b"');
  });

  it('pages and filters thousands of instances', async () => {
    const instances = Array.from({ length: 1_500 }, (_, i) => ({ service: 'big', id: `i${i}`, url: `http://10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:8080` }));
    const harness = await setup({ env: { ADMIN_TOKEN: TOKEN }, instances });
    await harness.request('/svc/big/x');
    const auth = { authorization: `Bearer ${TOKEN}`, 'x-edge-fragment': '1' };
    const first = await (await harness.request('/_edge/?service=big', { headers: auth })).text();
    expect(first.match(/data-instance=/g)).toHaveLength(100);
    expect(first).toContain('page 1 of 15 (1500)');
    const filtered = await (await harness.request('/_edge/?service=big&q=i149', { headers: auth })).text();
    expect(filtered.match(/data-instance=/g)).toHaveLength(11);
  });
});
