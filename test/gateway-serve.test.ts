import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { Backends, type Backend } from './support/backend.js';
import { cli } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { ADMIN_TOKEN } from './support/gateway-scenarios.js';
import { startServeProcess } from './support/node-gateway.js';
import { freePort } from './support/ports.js';
import { rawRequest } from './support/raw-http.js';
import { until } from './support/until.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
const backends = new Backends();
const stops: (() => Promise<void>)[] = [];
const native = nativeLayout();
let count = 0;

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
});

afterAll(async () => {
  for (const stop of stops.splice(0)) await stop();
  await backends.closeAll();
  await cluster?.close();
});

const backend = (name: string): Promise<Backend> => backends.start(name);

async function service(instances: { url: string; weight?: number; tags?: Record<string, string> }[]): Promise<string> {
  const name = `serve-${++count}`;
  for (const { url, weight = 1, tags = {} } of instances) {
    const record = native.encode({ service: name, url, weight, tags });
    await etcd.put(record.key, record.value);
  }
  return name;
}

async function serve(env: Record<string, string> = {}, args: string[] = []) {
  const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ADMIN_TOKEN, ...env }, args);
  stops.push(() => gateway.close().catch(() => undefined));
  return gateway;
}

const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

describe('etcd-edge serve', () => {
  it('drains in-flight requests on SIGTERM, then exits 0 and refuses new connections', async () => {
    const b = await backend('drain');
    const name = await service([{ url: b.url }]);
    const gateway = await serve();
    const slow = fetch(`${gateway.url}/svc/${name}/slow/800`);
    // In flight once the instance has it: a fixed wait could signal before a slow start had read the request.
    await until(() => b.requests === 1, 5_000);
    const exited = gateway.process.kill('SIGTERM');
    expect((await slow).status).toBe(200);
    expect((await exited).code).toBe(0);
    await expect(fetch(`${gateway.url}/svc/${name}/`)).rejects.toThrow();
    expect(gateway.process.stderr).toContain('draining');
  });

  it('prefers instances in its zone (EDGE_ZONE) and falls back to the others', async () => {
    const [here, there] = await Promise.all([backend('zone-a'), backend('zone-b')]);
    const name = await service([
      { url: here.url, tags: { zone: 'zone-a' } },
      { url: there.url, tags: { zone: 'zone-b' }, weight: 100 },
    ]);
    const gateway = await serve({ EDGE_ZONE: 'zone-a' });
    for (let i = 0; i < 40; i++) expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    expect([here.requests, there.requests]).toEqual([40, 0]);
    here.kill();
    for (let i = 0; i < 10; i++) expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    expect(there.requests).toBe(10);
  });

  it('routes by x-edge-tags (canary lanes) and refuses a malformed header', async () => {
    const [stable, canary] = await Promise.all([backend('stable'), backend('canary')]);
    const name = await service([{ url: stable.url, weight: 9 }, { url: canary.url, tags: { lane: 'canary' } }]);
    const gateway = await serve();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${gateway.url}/svc/${name}/`, { headers: { 'x-edge-tags': 'lane=canary' } });
      expect(res.headers.get('x-backend')).toBe('canary');
    }
    expect((await fetch(`${gateway.url}/svc/${name}/`, { headers: { 'x-edge-tags': 'lane' } })).status).toBe(400);
    const none = await fetch(`${gateway.url}/svc/${name}/`, { headers: { 'x-edge-tags': 'lane=blue' } });
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ error: { code: 'NO_INSTANCES' } });
  });

  it('ejects an instance that keeps refusing connections, and shows it in the admin view', async () => {
    const up = await backend('up');
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const name = await service([{ url: up.url }, { url: deadUrl }]);
    const gateway = await serve({ ETCD_EDGE_EJECT_AFTER: '3' });
    for (let i = 0; i < 40; i++) expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    const view = (await (await fetch(`${gateway.url}/_edge/services/${name}`, admin)).json()) as { instances: { url: string; ejection?: { ejectedUntil?: number; ejections: number } }[] };
    const dead = view.instances.find((i) => i.url === deadUrl)!;
    expect(dead.ejection).toMatchObject({ ejections: 1, ejectedUntil: expect.any(Number) });
    const metrics = await (await fetch(`${gateway.url}/_edge/metrics`, admin)).text();
    expect(metrics).toMatch(/^etcd_edge_ejections_total 1$/m);
    expect(metrics).toMatch(new RegExp(`^etcd_edge_requests_total\\{service="${name}",status="200"\\} 40$`, 'm'));
    expect(metrics).toMatch(/^etcd_edge_upstream_retries_total [1-9]\d*$/m);
  });

  it('never sends a POST twice: a 503 from the instance is passed back, not retried', async () => {
    const bs = await Promise.all([backend('p1'), backend('p2')]);
    const name = await service(bs.map((b) => ({ url: b.url })));
    const gateway = await serve();
    for (let i = 0; i < 10; i++) {
      const id = `post-${i}`;
      const res = await fetch(`${gateway.url}/svc/${name}/status/503`, { method: 'POST', body: 'pay once', headers: { 'x-request-id': id } });
      expect(res.status).toBe(503);
      expect(bs.reduce((n, b) => n + (b.seen.get(id) ?? 0), 0)).toBe(1);
    }
    // The same request as a GET is retried on the other instance.
    await fetch(`${gateway.url}/svc/${name}/status/503`, { headers: { 'x-request-id': 'get-1' } });
    expect(bs.map((b) => b.seen.get('get-1') ?? 0)).toEqual([1, 1]);
  });

  it('survives clients that drop mid-response and streamed 5xx answers it throws away', async () => {
    const [b1, b2] = await Promise.all([backend('drop-1'), backend('drop-2')]);
    const name = await service([{ url: b1.url }, { url: b2.url }]);
    const gateway = await serve();
    for (let i = 0; i < 10; i++) {
      const controller = new AbortController();
      const res = await fetch(`${gateway.url}/svc/${name}/${i % 2 ? 'bytes/20000000' : 'sse/50'}`, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
    }
    // A chunked 503 is discarded (its stream cancelled) before the retry.
    for (let i = 0; i < 5; i++) expect((await fetch(`${gateway.url}/svc/${name}/status/503?chunked=1`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    expect(gateway.process.child.exitCode).toBeNull();
  });

  it('cancels the attempt of a client that hangs up, on a kept-alive connection too: the instance sees it dropped, and it counts as 499', async () => {
    const b = await backend('hang-up');
    const name = await service([{ url: b.url }]);
    // Long timeouts: only the client going away can end the slow attempt early.
    const gateway = await serve({ ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '20000', ETCD_EDGE_DEADLINE_MS: '20000' });
    const { port } = new URL(gateway.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1').on('data', (text: string) => (received += text));
    const ask = (path: string): boolean => socket.write(`GET /svc/${name}${path} HTTP/1.1\r\nHost: edge.test\r\n\r\n`);
    // A first request answered on the connection, then a slow one on the same connection.
    ask('/quick');
    await until(() => received.endsWith('\r\n0\r\n\r\n'), 5_000);
    ask('/slow/15000');
    await until(() => b.requests === 2, 5_000);
    socket.destroy();
    await until(() => b.abandoned === 1, 5_000);
    const metrics = await (await fetch(`${gateway.url}/_edge/metrics`, admin)).text();
    expect(metrics).toContain(`etcd_edge_requests_total{service="${name}",status="499"} 1`);
    expect(metrics).toContain(`etcd_edge_requests_total{service="${name}",status="200"} 1`);
    expect(received.startsWith('HTTP/1.1 200')).toBe(true);
  });

  it('answers 504 by the deadline when a short body stops half-way (it is read whole, so it must fit the deadline)', async () => {
    const b = await backend('stall');
    const name = await service([{ url: b.url }]);
    const gateway = await serve({ ETCD_EDGE_DEADLINE_MS: '1000' });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/svc/${name}/stall/x`);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'UPSTREAM_TIMEOUT' } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('passes a GET body and the query exactly as sent', async () => {
    const b = await backend('get-body');
    const name = await service([{ url: b.url }]);
    const gateway = await serve();
    const res = await rawRequest(gateway.url, `/svc/${name}/search?a='x'&b=%41&c=<z>&d`, { method: 'GET', body: '{"q":1}', headers: { 'content-type': 'application/json' } });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ method: 'GET', url: "/search?a='x'&b=%41&c=<z>&d", bodyBytes: 7 });
  });

  it('skips instances the address policy denies, with the reason in the admin view', async () => {
    const ok = await backend('allowed');
    const name = await service([{ url: ok.url }, { url: 'http://169.254.169.254:80' }]);
    const denied = await service([{ url: 'http://metadata.google.internal:80' }]);
    const gateway = await serve();
    for (let i = 0; i < 20; i++) expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    const view = (await (await fetch(`${gateway.url}/_edge/services/${name}`, admin)).json()) as { instances: unknown[]; skipped: { reason: string }[] };
    expect(view.instances).toHaveLength(1);
    expect(view.skipped).toEqual([expect.objectContaining({ reason: expect.stringContaining('169.254.169.254 is denied') })]);
    const res = await fetch(`${gateway.url}/svc/${denied}/`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'NO_INSTANCES' } });
  });

  it('checks what a hostname resolves to when connecting, so a name cannot lead to a denied address', async () => {
    const target = await backend('behind-a-name');
    const port = new URL(target.url).port;
    // `localhost` passes the name check but resolves to loopback, which this deny list covers.
    const name = await service([{ url: `http://localhost:${port}` }]);
    const gateway = await serve({ ETCD_EDGE_DENY: '127.0.0.0/8,::1', ETCD_EDGE_ALLOW: 'localhost' });
    const res = await fetch(`${gateway.url}/svc/${name}/`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'UPSTREAM_UNREACHABLE' } });
    expect(target.requests).toBe(0);
    // The same name is reached when the deny list allows where it resolves.
    const open = await serve();
    expect((await fetch(`${open.url}/svc/${name}/`)).status).toBe(200);
    expect(target.requests).toBe(1);
  });

  it('writes one JSON access log line per request to ETCD_EDGE_ACCESS_LOG, with the body bytes sent', async () => {
    const b = await backend('logged');
    const name = await service([{ url: b.url }]);
    const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-log-'));
    const file = join(dir, 'access.jsonl');
    const gateway = await serve({ ETCD_EDGE_ACCESS_LOG: file });
    const streamed = await fetch(`${gateway.url}/svc/${name}/bytes/100000?token=secret`, { headers: { 'x-request-id': 'log-1' } });
    expect((await streamed.arrayBuffer()).byteLength).toBe(100_000);
    expect((await fetch(`${gateway.url}/svc/${name}-missing/x`, { headers: { 'x-request-id': 'log-2' } })).status).toBe(503);
    // Without a Content-Length the bytes are counted as they pass.
    const chunked = await fetch(`${gateway.url}/svc/${name}/status/201?chunked=1`, { headers: { 'x-request-id': 'log-3' } });
    expect(await chunked.text()).toBe('status 201 from logged');
    await until(() => readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= 3, 5_000);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const ok = lines.find((line) => line.requestId === 'log-1')!;
    expect(ok).toMatchObject({ client: '127.0.0.1', method: 'GET', path: `/svc/${name}/bytes/100000`, service: name, instance: b.url, status: 200, bytes: 100_000, attempts: 1 });
    expect(Date.parse(ok.time as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(ok.durationMs).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain('secret');
    const missing = lines.find((line) => line.requestId === 'log-2')!;
    expect(missing).toMatchObject({ status: 503, service: `${name}-missing`, instance: null, attempts: 0 });
    expect(missing.bytes).toBeGreaterThan(0);
    expect(lines.find((line) => line.requestId === 'log-3')).toMatchObject({ status: 201, bytes: 'status 201 from logged'.length });
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the bad flag or variable and never echoes a secret', () => {
    const flag = cli(['serve', '--strategy', 'bogus'], { ETCD_ENDPOINTS: 'http://127.0.0.1:2' });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--strategy: expected one of weighted-random');
    const variable = cli(['serve'], { ETCD_ENDPOINTS: 'http://127.0.0.1:2', ETCD_EDGE_CACHE_TTL_MS: 'soon' });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain('ETCD_EDGE_CACHE_TTL_MS: expected a whole number');
    const secret = cli(['serve'], { ETCD_ENDPOINTS: 'http://127.0.0.1:2', ADMIN_TOKEN: 'hunter2-short' });
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain('ADMIN_TOKEN: must be at least 16 characters');
    expect(secret.stderr).not.toContain('hunter2');
  });
});

describe('hostile input on the wire', () => {
  /** Writes raw bytes to the gateway and returns the status line of its answer ('' if it closed without one). */
  async function raw(port: number, bytes: string): Promise<string> {
    const { connect } = await import('node:net');
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
      let answer = '';
      const done = (): void => resolve(answer.split('\r\n')[0] ?? '');
      socket.setEncoding('latin1').on('data', (d: string) => (answer += d));
      socket.on('close', done);
      socket.on('error', done);
      socket.setTimeout(5_000, () => socket.destroy());
    });
  }

  it('answers CRLF injection, oversized headers and absolute-form targets without a 500 or a request elsewhere', async () => {
    const b = await backend('hostile');
    const name = await service([{ url: b.url }]);
    const gateway = await serve();
    const port = Number(new URL(gateway.url).port);
    const cases: [string, number][] = [
      [`GET /svc/${name}/x HTTP/1.1\r\nHost: a\r\nX-Evil: a\rInjected: b\r\nConnection: close\r\n\r\n`, 400],
      // Node reads a request line without a version leniently; what follows is just the client's own header.
      [`GET /svc/${name}/x\r\nInjected: 1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, 200],
      [`GET /svc/${name}/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`, 431],
      // Absolute form naming the metadata address: routed by its path to the service's own instance.
      [`GET http://169.254.169.254/svc/${name}/latest HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`, 200],
      [`GET /svc/${name}/%0d%0aInjected:%20yes HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, 200],
      [`GET /svc/${name}/x HTTP/1.1\r\nHost: a\r\nConnection: close, host, x-forwarded-for, via, x-request-id, content-length\r\nContent-Length: 0\r\n\r\n`, 200],
      // A Host that is no host (it would be passed on in X-Forwarded-Host and Forwarded), or two of them.
      [`GET /svc/${name}/x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`, 400],
      [`GET /svc/${name}/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`, 400],
      // HTTP/1.0 needs no Host: the gateway's own address stands in.
      [`GET /svc/${name}/x HTTP/1.0\r\n\r\n`, 200],
    ];
    for (const [bytes, status] of cases) {
      expect(await raw(port, bytes), JSON.stringify(bytes.slice(0, 60))).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    }
    // The five that were proxied reached this backend, and nothing else did.
    expect(b.requests).toBe(5);
    expect((await fetch(`${gateway.url}/svc/${name}/`)).status).toBe(200);
    expect(gateway.process.child.exitCode).toBeNull();
  });
});
