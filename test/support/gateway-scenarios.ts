import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backends, type Backend, type Echo } from './backend.js';
import { chiSquare, CHI2_DF2_P1E6 } from './chi-square.js';
import { startEtcd, type EtcdCluster } from './etcd-server.js';
import { freePort } from './ports.js';
import { rawRequest } from './raw-http.js';
import { until } from './until.js';

export interface RunningGateway {
  /** `http://127.0.0.1:port` */
  url: string;
  /** The gateway's process, when it has its own (for memory figures). */
  pid?: number;
  close(): Promise<void>;
}

export interface GatewayRuntime {
  name: string;
  start(env: Record<string, string>): Promise<RunningGateway>;
  /** Streams 50 MB each way and checks the gateway's memory stays flat (needs `pid`). */
  bigBodies?: boolean;
  /** Whether the gateway sees the request-target as sent, before any normalization. */
  rawPaths?: boolean;
  /** False where the runtime consumes the client's `Connection` header before the gateway sees it (workerd). */
  seesConnection?: boolean;
  /** Whether the runtime passes a streamed response through as it arrives. */
  streamsResponses?: boolean;
}

export const ADMIN_TOKEN = 'scenario-admin-token-0123456789';
const native = nativeLayout();

/**
 * What every runtime must do, against a real etcd and real backends on
 * loopback: the same suite for the Node server, the Worker in workerd and
 * the Lambda handler.
 */
export function describeGatewayScenarios(runtime: GatewayRuntime): void {
  describe(`gateway on ${runtime.name}`, () => {
    let cluster: EtcdCluster;
    let etcd: EtcdClient;
    let gateway: RunningGateway;
    const backends = new Backends();
    let serviceCount = 0;

    beforeAll(async () => {
      cluster = await startEtcd();
      etcd = new EtcdClient({ endpoints: cluster.endpoints });
      gateway = await runtime.start({
        ETCD_ENDPOINTS: cluster.endpoints.join(','),
        // The backends are on loopback, which the gateway denies unless told otherwise.
        ETCD_EDGE_ALLOW_LOOPBACK: 'true',
        ETCD_EDGE_CACHE_TTL_MS: '300',
        ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '1000',
        ADMIN_TOKEN,
      });
    }, 90_000);

    afterAll(async () => {
      await gateway?.close();
      await backends.closeAll();
      await cluster?.close();
    });

    const backend = (name: string): Promise<Backend> => backends.start(name);

    /** A fresh service name with these instances, each under its own lease. */
    async function service(instances: { url: string; weight?: number; ttl?: number }[]): Promise<string> {
      const name = `svc-${runtime.name}-${++serviceCount}`;
      for (const instance of instances) {
        const { id } = await etcd.leaseGrant(instance.ttl ?? 60);
        const record = native.encode({ service: name, url: instance.url, weight: instance.weight ?? 1 });
        await etcd.put(record.key, record.value, { lease: id });
      }
      return name;
    }

    const get = (path: string, init?: RequestInit): Promise<Response> => fetch(`${gateway.url}${path}`, init);

    it('routes method, path, query, headers and body intact', async () => {
      const b = await backend('intact');
      const name = await service([{ url: b.url }]);
      const body = 'x'.repeat(3000);
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await rawRequest(gateway.url, `/svc/${name}/v1/items/7?id=7&q=a%20b`, {
        method: 'PUT',
        body,
        headers: { 'x-custom': 'kept', traceparent, 'content-type': 'text/plain', connection: 'keep-alive, x-drop', 'x-drop': 'gone', 'keep-alive': 'timeout=9' },
      });
      expect(res.status).toBe(200);
      const echo = JSON.parse(res.body) as Echo;
      expect(echo).toMatchObject({ method: 'PUT', url: '/v1/items/7?id=7&q=a%20b', bodyBytes: 3000 });
      expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
      expect(echo.headers).toMatchObject({ 'x-custom': 'kept', traceparent, 'content-type': 'text/plain', host: `127.0.0.1:${b.port}` });
      if (runtime.seesConnection !== false) expect(echo.headers['x-drop']).toBeUndefined();
      expect(echo.headers['keep-alive']).toBeUndefined();
      expect(echo.headers.via).toContain('etcd-edge');
      expect(echo.headers['x-request-id']).toMatch(/^[\x21-\x7e]+$/);
      expect(echo.headers['x-forwarded-proto']).toBeDefined();
      // The backend's `Connection: keep-alive, x-secret-hop` names a field that must not reach the client.
      expect(res.headers['x-secret-hop']).toBeUndefined();
      expect(res.headers['server-timing']).toMatch(/discovery;dur=[\d.]+, upstream;dur=[\d.]+/);
      expect(res.headers['x-request-id']).toBe(echo.headers['x-request-id']);
    });

    it('refuses more than 100 request header fields with 431, and forwards 90 with its own fields added', async () => {
      const b = await backend('fields');
      const name = await service([{ url: b.url }]);
      const fields = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-field-${i}`, 'v']));
      const flooded = await get(`/svc/${name}/x`, { headers: fields(120) });
      expect(flooded.status).toBe(431);
      expect(((await flooded.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_HEADERS');
      const fine = await get(`/svc/${name}/x`, { headers: fields(90) });
      expect(fine.status).toBe(200);
      const echo = (await fine.json()) as Echo;
      expect(echo.headers['x-field-89']).toBe('v');
      expect(echo.headers.via).toMatch(/etcd-edge-[0-9a-f]{8}$/);
      expect(echo.headers['x-request-id']).toBeDefined();
    });

    it('adds no Content-Type to an answer that had none, and keeps the status', async () => {
      const b = await backend('no-type');
      const name = await service([{ url: b.url }]);
      const res = await get(`/svc/${name}/status/201`);
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toBeNull();
      expect(await res.text()).toBe('from no-type');
    });

    it('spreads requests by weight (5/3/2)', async () => {
      const bs = await Promise.all(['w5', 'w3', 'w2'].map((n) => backend(n)));
      const name = await service(bs.map((b, i) => ({ url: b.url, weight: [5, 3, 2][i]! })));
      await inBatches(1000, 10, async () => {
        const res = await get(`/svc/${name}/`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      });
      const counts = bs.map((b) => b.requests);
      expect(counts.reduce((a, c) => a + c, 0)).toBe(1000);
      expect(chiSquare(counts, [5, 3, 2])).toBeLessThan(CHI2_DF2_P1E6);
    });

    it('a backend killed mid-run costs GET clients nothing: requests go to the others', async () => {
      const bs = await Promise.all(['k1', 'k2', 'k3'].map((n) => backend(n)));
      const name = await service(bs.map((b) => ({ url: b.url })));
      const statuses: number[] = [];
      let done = 0;
      await inBatches(300, 6, async () => {
        if (++done === 60) bs[0]!.kill();
        const res = await get(`/svc/${name}/x`);
        statuses.push(res.status);
        await res.arrayBuffer();
      });
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      const after = bs[0]!.requests;
      await inBatches(30, 3, async () => void (await (await get(`/svc/${name}/x`)).arrayBuffer()));
      expect(bs[0]!.requests).toBe(after);
    });

    it('an instance whose lease expires stops receiving traffic', async () => {
      const [stays, goes] = await Promise.all([backend('stays'), backend('goes')]);
      // Weighted 9:1 toward the one that goes, so ten requests missing it mean it is gone, not luck.
      const name = await service([{ url: stays.url }, { url: goes.url, ttl: 2, weight: 9 }]);
      await until(async () => {
        await (await get(`/svc/${name}/`)).arrayBuffer();
        return goes.requests > 0;
      });
      // Nobody keeps the 2 s lease alive: etcd deletes the key, the gateway must follow.
      await until(async () => {
        const before = goes.requests;
        for (let i = 0; i < 10; i++) await (await get(`/svc/${name}/`)).arrayBuffer();
        return goes.requests === before;
      }, 8_000);
      const before = goes.requests;
      for (let i = 0; i < 30; i++) expect((await get(`/svc/${name}/`)).status).toBe(200);
      expect(goes.requests).toBe(before);
    });

    it('answers 400 BAD_REQUEST for names and paths it will not route', async () => {
      const paths = ['/svc/bad%20name/x', '/svc/a%2Fb/x', `/svc/${'n'.repeat(129)}/`, '/svc/ok/a%2f..%2fb', '/svc/ok/x%5cy'];
      // Where the runtime shows the request-target as sent, dot segments are refused rather than resolved
      // (elsewhere the runtime resolves them before the gateway sees the path).
      if (runtime.rawPaths) paths.push('/svc/ok/../other/x', '/svc/ok/%2e%2e/other', '/svc/ok/./x', '/svc/%2e%2e/x');
      for (const path of paths) {
        const res = await rawRequest(gateway.url, path);
        expect(res.status, path).toBe(400);
        expect(JSON.parse(res.body), path).toMatchObject({ error: { code: 'BAD_REQUEST' } });
      }
    });

    it('answers 503 NO_INSTANCES with Retry-After for a service nobody registered', async () => {
      const res = await get('/svc/nobody-registered-this/x');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toEqual({ error: { code: 'NO_INSTANCES', message: expect.any(String), service: 'nobody-registered-this' } });
    });

    it('answers 502 UPSTREAM_UNREACHABLE when no instance can be reached', async () => {
      const name = await service([{ url: `http://127.0.0.1:${await freePort()}` }]);
      const res = await get(`/svc/${name}/x`);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { code: 'UPSTREAM_UNREACHABLE', service: name } });
    });

    it('answers 504 UPSTREAM_TIMEOUT when the instance does not answer in time', async () => {
      const b = await backend('slow');
      const name = await service([{ url: b.url }]);
      const res = await get(`/svc/${name}/slow/3000`);
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: { code: 'UPSTREAM_TIMEOUT', service: name } });
    });

    it('answers 503 ETCD_UNAVAILABLE when etcd cannot be reached, naming no endpoint', async () => {
      const deadEtcd = `http://127.0.0.1:${await freePort()}`;
      const lonely = await runtime.start({ ETCD_ENDPOINTS: deadEtcd });
      try {
        const res = await fetch(`${lonely.url}/svc/anything/x`);
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(JSON.parse(text)).toMatchObject({ error: { code: 'ETCD_UNAVAILABLE', service: 'anything' } });
        expect(text).not.toContain(deadEtcd.slice(7));
      } finally {
        await lonely.close();
      }
    });

    it('passes server-sent events through, for longer than the upstream timeout', async () => {
      const b = await backend('sse');
      const name = await service([{ url: b.url }]);
      // 75 events 20 ms apart: ~1.5 s, past the 1 s upstream timeout, which ends with the response headers.
      const res = await get(`/svc/${name}/sse/75`);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let firstAt = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        firstAt ||= Date.now();
        text += decoder.decode(value, { stream: true });
      }
      const endAt = Date.now();
      for (let i = 0; i < 75; i++) expect(text).toContain(`data: event ${i} from sse\n`);
      // A buffering proxy would deliver it all at once; the events span ~1.5 s, and a slow first read on a loaded
      // machine may take some of that.
      if (runtime.streamsResponses !== false) expect(endAt - firstAt).toBeGreaterThan(500);
    });

    it('waits for a body that comes after the headers, past the upstream timeout', async () => {
      const b = await backend('late');
      const name = await service([{ url: b.url }]);
      const res = await get(`/svc/${name}/late/1500`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('late!');
      expect(b.requests).toBe(1);
    });

    it('shows a service in the admin view, and refuses the view without the token', async () => {
      const b = await backend('admin');
      const name = await service([{ url: b.url, weight: 4 }]);
      expect((await get(`/svc/${name}/`)).status).toBe(200);
      expect((await get(`/_edge/services/${name}`)).status).toBe(401);
      const res = await get(`/_edge/services/${name}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ service: name, instances: [{ url: b.url, weight: 4 }], skipped: [] });
      const health = await get('/_edge/health', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(await health.json()).toMatchObject({ status: 'ok', etcd: { reachable: true } });
    });

    it('serves the dashboard: sign-in by form, a cookie scoped to /_edge/, the service on the page', async () => {
      const b = await backend('dashboard');
      const name = await service([{ url: b.url }]);
      expect((await get(`/svc/${name}/`)).status).toBe(200);
      const form = await get('/_edge/');
      expect(form.status).toBe(200);
      expect(await form.text()).toContain('name="token"');
      const login = await get('/_edge/login', { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: 'manual' });
      expect(login.status).toBe(303);
      const cookie = login.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      expect(cookie).toMatch(/Path=\/_edge\//);
      const page = await get('/_edge/', { headers: { cookie: cookie.split(';')[0]! } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`data-service="${name}"`);
    });

    if (runtime.bigBodies) {
      it('streams a 50 MB upload and a 50 MB download with memory flat', async () => {
        const b = await backend('big');
        const name = await service([{ url: b.url }]);
        const size = 50 * 1024 * 1024;
        // Warm up, then measure the gateway's peak RSS growth over each transfer: a
        // buffering proxy would need the whole 50 MB at once; a streaming one a few MB
        // plus garbage not yet collected (measured here: 1-20 MB).
        await (await get(`/svc/${name}/bytes/${1024 * 1024}`)).arrayBuffer();
        let baseline = peakRss(gateway.pid!);
        const chunk = new Uint8Array(256 * 1024).fill(7);
        let sent = 0;
        const upload = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= size) return controller.close();
            sent += chunk.length;
            controller.enqueue(chunk);
          },
        });
        const res = await get(`/svc/${name}/upload`, { method: 'POST', body: upload, duplex: 'half' } as RequestInit);
        expect(((await res.json()) as Echo).bodyBytes).toBe(size);
        expect(peakRss(gateway.pid!) - baseline).toBeLessThan(40 * 1024 * 1024);
        baseline = peakRss(gateway.pid!);
        const down = await get(`/svc/${name}/bytes/${size}`);
        let received = 0;
        for await (const piece of down.body as unknown as AsyncIterable<Uint8Array>) received += piece.length;
        expect(received).toBe(size);
        expect(peakRss(gateway.pid!) - baseline).toBeLessThan(40 * 1024 * 1024);
      }, 60_000);
    }
  });
}

async function inBatches(total: number, concurrency: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        await task();
      }
    }),
  );
}

/** A process's peak resident set (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
