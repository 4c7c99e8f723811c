import { afterEach, describe, expect, it } from 'vitest';
import type { Registration } from '../registry/index.js';
import { CLIENT_IP, closeAll, errorOf, setup, type Step } from '../testing/internal/gateway.js';
import { millis } from './outcome.js';

afterEach(closeAll);

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';
const orders = (...urls: string[]): Registration[] => urls.map((url) => ({ service: 'orders', url }));
const URLS = [A, B, C];

/** Fails the first attempt with `first`, answers 200 after. */
const firstFails = (first: Step) => (_: unknown, index: number): Step => (index === 0 ? first : { status: 200, body: 'ok' });

describe('routing', () => {
  it("sends the request to the instance's origin with the rest of the path and the query", async () => {
    const h = await setup({ instances: orders(A) });
    const response = await h.request('/svc/orders/a/b%20c?y=1&z=%2F', { method: 'PATCH', body: '{"x":1}', headers: { 'content-type': 'application/json', 'content-length': '7', host: 'edge.example' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`from ${A}`);
    expect(h.upstream.sent).toHaveLength(1);
    const [sent] = h.upstream.sent;
    expect(sent).toMatchObject({ origin: A, path: '/a/b%20c?y=1&z=%2F', method: 'PATCH', body: '{"x":1}', streamed: false });
    expect(sent!.headers.get('content-type')).toBe('application/json');
    expect(sent!.headers.get('x-forwarded-for')).toBe(CLIENT_IP);
    expect(sent!.headers.get('x-forwarded-proto')).toBe('http');
    expect(sent!.headers.get('via')).toMatch(/^1\.1 etcd-edge-[0-9a-f]{8}$/);
    expect(sent!.headers.has('host')).toBe(false);
  });

  it('sends /svc/{service} and /svc/{service}?q to the root path', async () => {
    const h = await setup({ instances: orders(A) });
    await h.request('/svc/orders');
    await h.request('/svc/orders?q=1');
    expect(h.upstream.sent.map((s) => s.path)).toEqual(['/', '/?q=1']);
  });

  it('passes the answer back with its status, end-to-end headers, request id and Server-Timing', async () => {
    const h = await setup({ instances: orders(A), script: () => ({ status: 201, headers: { 'x-app': '1', connection: 'x-secret', 'x-secret': 's', 'keep-alive': 'timeout=5' }, body: 'made' }) });
    const response = await h.request('/svc/orders/x', { method: 'POST', headers: { 'x-request-id': 'client-req-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('made');
    expect(response.headers.get('x-app')).toBe('1');
    expect(response.headers.has('x-secret')).toBe(false);
    expect(response.headers.has('keep-alive')).toBe(false);
    expect(response.headers.get('x-request-id')).toBe('client-req-1');
    expect(response.headers.get('server-timing')).toMatch(/^discovery;dur=\d+\.\d{3}, upstream;dur=\d+\.\d{3}$/);
    expect(response.headers.get('via')).toMatch(/^1\.1 etcd-edge-[0-9a-f]{8}$/);
    expect(h.upstream.sent[0]!.headers.get('x-request-id')).toBe('client-req-1');
    expect(h.upstream.sent[0]!.headers.get('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('hashes a header to the same instance every time', async () => {
    const h = await setup({ instances: orders(A, B, C), env: { ETCD_EDGE_STRATEGY: 'hash', ETCD_EDGE_HASH_KEY: 'header:X-User' } });
    for (let i = 0; i < 10; i++) await h.request('/svc/orders/', { headers: { 'x-user': 'alice' } });
    expect(new Set(h.upstream.origins).size).toBe(1);
  });

  it('HEAD and 204/304 answers have no body', async () => {
    const h = await setup({ instances: orders(A), script: (r) => (r.path === '/empty' ? { status: 204, body: 'ignored' } : r.path === '/cached' ? { status: 304, body: 'x' } : { status: 200, headers: { 'content-length': '5' }, body: 'hello' }) });
    const head = await h.request('/svc/orders/x', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(head.headers.get('content-length')).toBe('5');
    const empty = await h.request('/svc/orders/empty');
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const cached = await h.request('/svc/orders/cached');
    expect(cached.status).toBe(304);
    expect(cached.body).toBeNull();
  });

  it('answers 502 for a status outside 200-599', async () => {
    for (const status of [101, 199, 600, 999]) {
      const h = await setup({ instances: orders(A), script: () => ({ status, body: 'weird' }) });
      const response = await h.request('/svc/orders/x');
      expect(response.status, String(status)).toBe(502);
      expect((await errorOf(response)).code).toBe('UPSTREAM_UNREACHABLE');
    }
  });
});

describe('retries', () => {
  for (const failure of ['connect', 'failed', 'timeout'] as const) {
    it(`retries a GET on another instance after ${failure}`, async () => {
      const h = await setup({ instances: orders(A, B), script: firstFails({ error: failure }) });
      const response = await h.request('/svc/orders/x');
      expect(response.status).toBe(200);
      expect(h.upstream.sent).toHaveLength(2);
      expect(new Set(h.upstream.origins)).toEqual(new Set([A, B]));
    });
  }

  for (const status of [502, 503, 504]) {
    it(`retries a GET on another instance after a ${status} answer`, async () => {
      const h = await setup({ instances: orders(A, B), script: firstFails({ status, body: 'busy' }) });
      const response = await h.request('/svc/orders/x');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
      expect(new Set(h.upstream.origins)).toEqual(new Set([A, B]));
    });
  }

  it('does not retry a 500 or a 4xx', async () => {
    for (const status of [500, 429, 404]) {
      const h = await setup({ instances: orders(A, B), script: firstFails({ status }) });
      expect((await h.request('/svc/orders/x')).status).toBe(status);
      expect(h.upstream.sent).toHaveLength(1);
    }
  });

  it('retries a buffered POST after connect, sending the same body', async () => {
    const h = await setup({ instances: orders(A, B), script: firstFails({ error: 'connect' }) });
    const response = await h.request('/svc/orders/x', { method: 'POST', body: 'order-1', headers: { 'content-length': '7' } });
    expect(response.status).toBe(200);
    expect(h.upstream.sent).toHaveLength(2);
    expect(h.upstream.sent[1]!.body).toBe('order-1');
  });

  for (const first of [{ error: 'failed' }, { error: 'timeout' }, { status: 503, body: 'busy' }, { status: 502 }] as Step[]) {
    it(`never resends a POST after ${JSON.stringify(first)}`, async () => {
      const h = await setup({ instances: orders(A, B, C), script: firstFails(first) });
      const response = await h.request('/svc/orders/x', { method: 'POST', body: 'pay', headers: { 'content-length': '3' } });
      expect(h.upstream.sent).toHaveLength(1);
      expect(h.upstream.sent[0]!.body).toBe('pay');
      if (typeof first === 'object' && 'status' in first) {
        expect(response.status).toBe(first.status);
      } else {
        expect(response.status).toBe(first !== 'hang' && first.error === 'timeout' ? 504 : 502);
      }
    });
  }

  it('resends a buffered PUT body byte for byte', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const h = await setup({ instances: orders(A, B, C), script: (_, i) => (i < 2 ? { status: 503 } : { status: 200 }) });
    const response = await h.request('/svc/orders/blob', { method: 'PUT', body: bytes, headers: { 'content-length': '256' } });
    expect(response.status).toBe(200);
    expect(h.upstream.sent).toHaveLength(3);
    for (const sent of h.upstream.sent) {
      expect(sent.streamed).toBe(false);
      expect(sent.bytes).toEqual(bytes);
    }
  });

  describe('a streamed body', () => {
    const big = 'x'.repeat(100);

    it('is not sent twice: a streamed PUT that got a 503 is passed through, not retried', async () => {
      const h = await setup({ instances: orders(A, B), script: firstFails({ status: 503, body: 'busy' }) });
      const response = await h.request('/svc/orders/x', { method: 'PUT', body: big });
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('busy');
      expect(h.upstream.sent).toHaveLength(1);
      expect(h.upstream.sent[0]).toMatchObject({ streamed: true, body: big });
    });

    it('is not sent twice after a broken connection', async () => {
      const h = await setup({ instances: orders(A, B), script: firstFails({ error: 'failed' }) });
      const response = await h.request('/svc/orders/x', { method: 'PUT', body: big });
      expect(response.status).toBe(502);
      expect(h.upstream.sent).toHaveLength(1);
    });

    it('larger than ETCD_EDGE_RETRY_BUFFER_BYTES is streamed and not sent twice', async () => {
      const h = await setup({ env: { ETCD_EDGE_RETRY_BUFFER_BYTES: '10' }, instances: orders(A, B), script: firstFails({ status: 502 }) });
      const response = await h.request('/svc/orders/x', { method: 'PUT', body: big, headers: { 'content-length': String(big.length) } });
      expect(response.status).toBe(502);
      expect(h.upstream.sent).toHaveLength(1);
      expect(h.upstream.sent[0]).toMatchObject({ streamed: true, body: big });
    });

    it('that nothing read yet goes to the next instance after connect, once', async () => {
      const h = await setup({ instances: orders(A, B), script: firstFails({ error: 'connect' }) });
      const response = await h.request('/svc/orders/x', { method: 'POST', body: big });
      expect(response.status).toBe(200);
      expect(h.upstream.sent.map((s) => s.body)).toEqual([null, big]);
    });
  });

  it('stops at ETCD_EDGE_MAX_ATTEMPTS and passes the last 503 through', async () => {
    const five = ['1', '2', '3', '4', '5'].map((n) => `http://10.0.0.${n}:8080`);
    const h = await setup({ env: { ETCD_EDGE_MAX_ATTEMPTS: '2' }, instances: orders(...five), script: (r) => ({ status: 503, headers: { 'retry-after': '7' }, body: `busy ${r.origin}` }) });
    const response = await h.request('/svc/orders/x');
    expect(h.upstream.sent).toHaveLength(2);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.text()).toBe(`busy ${h.upstream.sent[1]!.origin}`);

    const three = await setup({ instances: orders(...five), script: () => ({ error: 'connect' }) });
    const unreachable = await three.request('/svc/orders/x');
    expect(three.upstream.sent).toHaveLength(3);
    expect(new Set(three.upstream.origins).size).toBe(3);
    expect(await errorOf(unreachable)).toEqual({ code: 'UPSTREAM_UNREACHABLE', message: 'no instance could be reached (3 tried)', service: 'orders' });
  });

  it('passes the 503 through when the only instance answers 503', async () => {
    const h = await setup({ instances: orders(A), script: () => ({ status: 503, body: 'down for maintenance' }) });
    const response = await h.request('/svc/orders/x');
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('down for maintenance');
    expect(h.upstream.sent).toHaveLength(1);
  });
});

describe('error answers', () => {
  const expectError = async (response: Response, status: number, error: object, requestId = true): Promise<void> => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    if (requestId) expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toEqual({ error });
  };

  it('400 BAD_REQUEST for a bad service name or path, sending nothing', async () => {
    let raw = '';
    const h = await setup({ instances: orders(A), hooks: { rawPath: () => raw || undefined } });
    await expectError(await h.request('/svc/or%20ders/x'), 400, { code: 'BAD_REQUEST', message: 'service name must be 1-128 characters of A-Z a-z 0-9 . _ - and not . or ..' });
    // The runtime resolves dot segments before routing, so they are judged on the raw path.
    for (const path of ['/svc/orders/../admin', '/svc/orders/%2e%2e/admin', '/svc/orders/.%2E/x', '/svc/orders/a/.']) {
      raw = path;
      const response = await h.request('/svc/admin');
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('dot segments') });
    }
    for (const path of ['/svc/orders/a%2fb', '/svc/orders/a%5cb', '/svc/orders/a%00', '/svc/orders/a%2F..%2Fb']) {
      raw = path;
      await expectError(await h.request('/svc/orders/x'), 400, { code: 'BAD_REQUEST', message: 'path must not contain dot segments, encoded slashes, backslashes or control characters' });
      raw = '';
      await expectError(await h.request(path), 400, { code: 'BAD_REQUEST', message: 'path must not contain dot segments, encoded slashes, backslashes or control characters' });
    }
    expect(h.upstream.sent).toHaveLength(0);
  });

  it('404 for routes outside /svc/', async () => {
    const h = await setup({ instances: orders(A) });
    await expectError(await h.request('/orders/x'), 404, { code: 'NOT_FOUND', message: 'routes are /svc/{service}/{path}' }, false);
  });

  it('503 NO_INSTANCES with Retry-After for an unknown service, drained instances, or tags that match none', async () => {
    const h = await setup({
      instances: [
        { service: 'drained', url: A, weight: 0 },
        { service: 'drained', url: B, weight: 0 },
        { service: 'tagged', url: A, tags: { version: 'v1' } },
        { service: 'tagged', url: B, tags: { version: 'v2' } },
      ],
    });
    for (const [path, headers, service] of [
      ['/svc/unknown/x', {}, 'unknown'],
      ['/svc/drained/x', {}, 'drained'],
      ['/svc/tagged/x', { 'x-edge-tags': 'version=v3' }, 'tagged'],
      ['/svc/tagged/x', { 'x-edge-tags': 'version=v1,canary=true' }, 'tagged'],
    ] as const) {
      const response = await h.request(path, { headers });
      expect(response.headers.get('retry-after')).toBe('1');
      await expectError(response, 503, { code: 'NO_INSTANCES', message: 'no instance of this service can take the request', service });
    }
    expect(h.upstream.sent).toHaveLength(0);
  });

  it('x-edge-tags picks among the instances carrying the tags; ETCD_EDGE_TAGS always applies', async () => {
    const h = await setup({
      env: { ETCD_EDGE_TAGS: 'env=prod' },
      instances: [
        { service: 'orders', url: A, tags: { env: 'prod', version: 'v1' } },
        { service: 'orders', url: B, tags: { env: 'prod', version: 'v2' } },
        { service: 'orders', url: C, tags: { env: 'staging', version: 'v2' } },
      ],
    });
    for (let i = 0; i < 10; i++) await h.request('/svc/orders/x', { headers: { 'x-edge-tags': ' version = v2 ' } });
    for (let i = 0; i < 10; i++) await h.request('/svc/orders/x');
    expect(h.upstream.origins.slice(0, 10).every((o) => o === B)).toBe(true);
    expect(h.upstream.origins.slice(10).every((o) => o === A || o === B)).toBe(true);
    const overridden = await h.request('/svc/orders/x', { headers: { 'x-edge-tags': 'env=staging' } });
    expect(overridden.status).toBe(503);
    expect(h.upstream.origins).not.toContain(C);
  });

  it('400 for a malformed x-edge-tags header', async () => {
    const h = await setup({ instances: orders(A) });
    for (const tags of ['version', 'a=1,a=2', '=v', Array.from({ length: 17 }, (_, i) => `k${i}=v`).join(',')]) {
      await expectError(await h.request('/svc/orders/x', { headers: { 'x-edge-tags': tags } }), 400, { code: 'BAD_REQUEST', message: 'x-edge-tags must be key=value pairs, comma-separated', service: 'orders' });
    }
    expect(h.upstream.sent).toHaveLength(0);
  });

  it('502 UPSTREAM_UNREACHABLE when the instance cannot be reached', async () => {
    const h = await setup({ instances: orders(A), script: () => ({ error: 'connect' }) });
    await expectError(await h.request('/svc/orders/x'), 502, { code: 'UPSTREAM_UNREACHABLE', message: 'the instance could not be reached', service: 'orders' });
  });

  it('504 UPSTREAM_TIMEOUT when no instance answers in ETCD_EDGE_UPSTREAM_TIMEOUT_MS', async () => {
    const h = await setup({ env: { ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '10' }, instances: orders(A, B), script: () => 'hang' });
    await expectError(await h.request('/svc/orders/x'), 504, { code: 'UPSTREAM_TIMEOUT', message: 'no instance answered in time', service: 'orders' });
    expect(h.upstream.sent).toHaveLength(2);
  });

  it('504 without retry when a POST times out', async () => {
    const h = await setup({ env: { ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '10' }, instances: orders(A, B), script: () => 'hang' });
    expect((await h.request('/svc/orders/x', { method: 'POST', body: 'x', headers: { 'content-length': '1' } })).status).toBe(504);
    expect(h.upstream.sent).toHaveLength(1);
  });

  it('503 ETCD_UNAVAILABLE when etcd cannot be read, leaking neither endpoint nor credentials', async () => {
    const endpoint = 'http://etcd-secret-host.internal:2379';
    const h = await setup({
      env: { ETCD_ENDPOINTS: endpoint, ETCD_USERNAME: 'edge-user', ETCD_PASSWORD: 'pa55word-xyz' },
      etcdFetch: async (input) => {
        throw new TypeError(`fetch failed: ${input} edge-user:pa55word-xyz`);
      },
    });
    const response = await h.request('/svc/orders/x');
    const text = await response.clone().text();
    for (const leak of ['etcd-secret-host', '2379', 'edge-user', 'pa55word', 'fetch failed']) expect(text).not.toContain(leak);
    expect(response.headers.get('retry-after')).toBe('1');
    await expectError(response, 503, { code: 'ETCD_UNAVAILABLE', message: 'the registry cannot be reached and nothing is cached for this service', service: 'orders' });
  });
});

describe('address policy and ejection', () => {
  it('never sends to a denied instance', async () => {
    const h = await setup({ instances: orders(A, 'http://169.254.169.254:80', 'http://[fd00:ec2::254]:80') });
    for (let i = 0; i < 20; i++) expect((await h.request('/svc/orders/x')).status).toBe(200);
    expect(new Set(h.upstream.origins)).toEqual(new Set([A]));

    const onlyDenied = await setup({ instances: orders('http://169.254.169.254:80') });
    expect((await onlyDenied.request('/svc/orders/x')).status).toBe(503);
    expect(onlyDenied.upstream.sent).toHaveLength(0);
  });

  it('stops sending to an instance that failed 5 times in a row', async () => {
    const clock = { now: 1_800_000_000_000 };
    const h = await setup({ env: { ETCD_EDGE_STRATEGY: 'round-robin' }, now: () => clock.now, instances: orders(A, B, C), script: (r) => (r.origin === A ? { error: 'connect' } : { status: 200 }) });
    const failuresOfA = (): number => h.upstream.origins.filter((o) => o === A).length;
    for (let i = 0; i < 100 && failuresOfA() < 5; i++) expect((await h.request('/svc/orders/x')).status).toBe(200);
    expect(failuresOfA()).toBe(5);
    for (let i = 0; i < 30; i++) expect((await h.request('/svc/orders/x')).status).toBe(200);
    expect(failuresOfA()).toBe(5);
    const [state] = h.gateway.balancer.state((await h.gateway.resolver.resolve('orders')).instances).filter((s) => s.url === A);
    expect(state).toMatchObject({ ejections: 1, ejectedUntil: clock.now + 30_000 });
  });

  it('ejects an instance that accepts requests and never answers (its timeouts count as failures)', async () => {
    const h = await setup({
      env: { ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '10', ETCD_EDGE_EJECT_AFTER: '2', ETCD_EDGE_STRATEGY: 'round-robin' },
      instances: orders(A, B),
      script: (r) => (r.origin === A ? 'hang' : { status: 200 }),
    });
    const hungOnA = (): number => h.upstream.origins.filter((o) => o === A).length;
    for (let i = 0; i < 20 && hungOnA() < 2; i++) expect((await h.request('/svc/orders/x')).status).toBe(200);
    expect(hungOnA()).toBe(2);
    for (let i = 0; i < 10; i++) expect((await h.request('/svc/orders/x')).status).toBe(200);
    expect(hungOnA()).toBe(2);
  });
});

describe('a client that has gone', () => {
  it('is answered 499 and nothing is sent upstream once its request was aborted', async () => {
    const h = await setup({ instances: orders(A), exposeMetrics: true, env: { ADMIN_TOKEN: 'admin-token-0123456789' } });
    const controller = new AbortController();
    controller.abort();
    const response = await h.request('/svc/orders/x', { signal: controller.signal });
    expect(response.status).toBe(499);
    expect(h.upstream.sent).toHaveLength(0);
    const metrics = await (await h.request('/_edge/metrics', { headers: { authorization: 'Bearer admin-token-0123456789' } })).text();
    expect(metrics).toContain('etcd_edge_requests_total{service="orders",status="499"} 1');
  });
});

describe('millis (Server-Timing durations)', () => {
  it('writes milliseconds with three decimals, rounded to the microsecond', () => {
    expect([0, 0.0004, 0.05, 1.23456, 12.0004, 999.9996, 1234.5, -0.2].map(millis)).toEqual(['0.000', '0.000', '0.050', '1.235', '12.000', '1000.000', '1234.500', '0.000']);
  });
});

describe('upstream timeout and uploads', () => {
  it('does not time out while a streamed body is still being sent, and still does once it is sent', async () => {
    const h = await setup({ instances: orders(A), env: { ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '50' } });
    const chunks = (gapMs: number) => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 5) return controller.close();
          await new Promise((r) => setTimeout(r, gapMs));
          sent++;
          controller.enqueue(new Uint8Array(1_024).fill(sent));
        },
      });
    };
    // 5 chunks 40 ms apart: 200 ms of upload against a 50 ms wait for headers, then the instance answers at once.
    const slowUpload = await h.request('/svc/orders/up', { method: 'PUT', body: chunks(40), duplex: 'half' } as RequestInit);
    expect(slowUpload.status).toBe(200);
    expect(h.upstream.sent[0]!.bytes).toHaveLength(5 * 1_024);
    // Once the body is sent, an instance that does not answer still times out.
    h.upstream.script = () => 'hang';
    const silent = await h.request('/svc/orders/up', { method: 'PUT', body: chunks(1), duplex: 'half' } as RequestInit);
    expect(silent.status).toBe(504);
  });
});

