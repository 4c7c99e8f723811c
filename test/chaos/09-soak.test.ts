import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout, register, type RegisteredInstance } from '../../src/index.js';
import { Backends, type Backend, type Echo } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { failureSummary, LoadLoop, type LoadReport } from './support/load.js';
import { n, record, scale } from './support/mode.js';

/**
 * `etcd-edge serve` under mixed traffic for a while (small and large bodies,
 * downloads, server-sent events, clients that hang up mid-answer) while the
 * registry churns every second. Afterwards its heap, sockets and timers must
 * be back where they were, its watches as many as the services in use, and
 * SIGTERM must end it at once.
 */
const SOAK_MS = scale(6_000, 60_000);
const WARM_MS = scale(1_500, 5_000);
/** Heap figures are the lowest sample in a window, so garbage not yet collected does not count as growth. */
const WINDOW_MS = scale(1_500, 10_000);
const SAMPLE_MS = 200;
const CHURN_MS = 1_000;
/** Allowed heap growth: half again the start, plus a few MB (V8's young generation alone is several). */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;
const EXIT_MS = 5_000;
const TIMEOUT = scale(60_000, 240_000);

const STABLE = 'soak';
const LEASED = 'soak-lease';
const SERVICES = [STABLE, LEASED];
/** Nothing listens on port 1: an instance there refuses every connection. */
const DEAD_URL = 'http://127.0.0.1:1';
const POST_SIZES = [16, 1_024, 16 * 1_024, 80 * 1_024, 256 * 1_024];
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

let cluster: EtcdCluster;
let etcd: EtcdClient;
let servers: Backend[] = [];
const backends = new Backends();
const cleanups: (() => Promise<unknown>)[] = [];
const native = nativeLayout();

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
  servers = await Promise.all(['x', 'y', 'z'].map((name) => backends.start(`soak-${name}`)));
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await backends.closeAll();
  await cluster?.close();
}, 60_000);

interface Sample {
  at: number;
  heap: number;
  rss: number;
  sockets: number;
  timers: number;
  watches: number;
}

async function scrape(base: string): Promise<Sample> {
  const text = await (await fetch(`${base}/_edge/metrics`, admin)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(name.length + 1));
  };
  return {
    at: Date.now(),
    heap: value('nodejs_heap_size_used_bytes'),
    rss: value('process_resident_memory_bytes'),
    sockets: value('nodejs_active_resources{type="TCPSocketWrap"}'),
    timers: value('nodejs_active_resources{type="Timeout"}'),
    watches: value('etcd_edge_watches'),
  };
}

async function put(service: string, id: string, url: string): Promise<void> {
  const { key, value } = native.encode({ service, id, url, weight: 1, tags: {} });
  await etcd.put(key, value);
}

/**
 * Every second: a new put instance of the stable service (to a live backend),
 * on odd seconds also one that refuses connections, and a new leased instance
 * of the other service; each lives two seconds, then is deleted or closed.
 */
class Churn {
  registrations = 0;
  readonly #leased: RegisteredInstance[] = [];
  #stopped = false;
  readonly done: Promise<void>;

  constructor(initial: RegisteredInstance[]) {
    this.#leased.push(...initial);
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    for (let k = 0; !this.#stopped && k < 1_000; k++) {
      const began = Date.now();
      await put(STABLE, `churn-${k}`, servers[k % servers.length]!.url);
      if (k % 2 === 1) await put(STABLE, `dead-${k}`, DEAD_URL);
      this.#leased.push(await register(etcd, { service: LEASED, id: `lease-${k}`, url: servers[(k + 1) % servers.length]!.url, ttl: 5 }));
      this.registrations += k % 2 === 1 ? 3 : 2;
      await etcd.delete(`${native.servicePrefix(STABLE)}churn-${k - 2}`);
      await etcd.delete(`${native.servicePrefix(STABLE)}dead-${k - 2}`);
      while (this.#leased.length > 2) await this.#leased.shift()!.close();
      await new Promise((r) => setTimeout(r, Math.max(0, CHURN_MS - (Date.now() - began))));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.done;
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.all(this.#leased.splice(0).map((r) => r.close()));
  }
}

/** Clients that start a long answer and hang up after its first chunk. */
class Droppers {
  dropped = 0;
  failed: string[] = [];
  #stopped = false;
  readonly #clients: Promise<void>[] = [];

  constructor(base: string, path: (i: number) => string, concurrency: number) {
    let next = 0;
    for (let c = 0; c < concurrency; c++) {
      this.#clients.push((async () => {
        for (let i = next++; !this.#stopped && i < 100_000; i = next++) {
          await this.#dropOne(new URL(path(i), base));
          await new Promise((r) => setTimeout(r, 20));
        }
      })());
    }
  }

  #dropOne(url: URL): Promise<void> {
    return new Promise((resolve) => {
      const req = request(url, (res) => {
        if (res.statusCode !== 200) this.failed.push(`${url.pathname}: ${res.statusCode}`);
        res.once('data', () => {
          this.dropped++;
          res.destroy();
          resolve();
        });
        res.once('end', resolve);
        res.once('error', () => resolve());
      });
      req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
      req.once('error', (error) => {
        this.failed.push(`${url.pathname}: ${error.message}`);
        resolve();
      });
      req.end();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#clients);
  }
}

function lowestHeap(samples: readonly Sample[], from: number, to: number): number {
  return Math.min(...samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.heap));
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

describe('soak: mixed traffic while the registry churns', () => {
  it('levels off in heap, sockets and timers, keeps one watch per service in use, and exits at once on SIGTERM', async () => {
    await put(STABLE, 'a', servers[0]!.url);
    await put(STABLE, 'b', servers[1]!.url);
    const firstLeased = await Promise.all([0, 1].map((i) => register(etcd, { service: LEASED, id: `lease-start-${i}`, url: servers[(i + 2) % 3]!.url, ttl: 5 })));
    const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ADMIN_TOKEN, ETCD_EDGE_EJECT_BASE_MS: '1000' });
    cleanups.push(() => gateway.close());
    for (const service of SERVICES) expect((await fetch(`${gateway.url}/svc/${service}/`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    const idle = await scrape(gateway.url);

    const churn = new Churn(firstLeased);
    cleanups.push(() => churn.close());
    let badBodies = 0;
    const gets = LoadLoop.start({ base: gateway.url, path: (i) => `/svc/${STABLE}/get/${i}`, concurrency: 3 });
    const posts = LoadLoop.start({
      base: gateway.url,
      method: 'POST',
      path: (i) => `/svc/${STABLE}/post/${i}`,
      body: (i) => 'p'.repeat(POST_SIZES[i % POST_SIZES.length]!),
      concurrency: 2,
    });
    posts.onAnswer = ({ i, status, body }) => {
      if (status === 200 && (JSON.parse(body) as Echo).bodyBytes !== POST_SIZES[i % POST_SIZES.length]) badBodies++;
    };
    const streamPath = (i: number): string => (i % 2 === 0 ? `/svc/${LEASED}/sse/5` : `/svc/${LEASED}/bytes/${256 * 1024 * (1 + (i % 4))}`);
    const streams = LoadLoop.start({ base: gateway.url, path: streamPath, concurrency: 2 });
    streams.onAnswer = ({ i, status, body }) => {
      if (status !== 200) return;
      const expected = i % 2 === 0 ? body.split('\n\n').filter(Boolean).length === 5 : body.length === 256 * 1024 * (1 + (i % 4));
      if (!expected) badBodies++;
    };
    const droppers = new Droppers(gateway.url, (i) => (i % 2 === 0 ? `/svc/${STABLE}/bytes/${16 * MB}` : `/svc/${LEASED}/sse/100`), 2);

    const startedAt = Date.now();
    const samples: Sample[] = [];
    while (Date.now() - startedAt < SOAK_MS) {
      samples.push(await scrape(gateway.url));
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    await churn.stop();
    const reports: [string, LoadReport][] = [['GET', await gets.stop()], ['POST', await posts.stop()], ['stream', await streams.stop()]];
    await droppers.stop();
    const underLoad = samples.at(-1)!;

    for (const [kind, report] of reports) expect(report.failed, `${kind}: ${JSON.stringify(report.failures)}`).toBe(0);
    expect(droppers.failed).toEqual([]);
    expect(droppers.dropped).toBeGreaterThan(0);
    expect(badBodies, 'answers whose body was not what the instance sent').toBe(0);

    const heapStart = lowestHeap(samples, startedAt + WARM_MS, startedAt + WARM_MS + WINDOW_MS);
    const heapEnd = lowestHeap(samples, startedAt + SOAK_MS - WINDOW_MS, startedAt + SOAK_MS);
    expect(heapEnd, `heap ${mb(heapStart)} → ${mb(heapEnd)}`).toBeLessThanOrEqual(heapStart * 1.5 + HEAP_SLACK_BYTES);
    // Idle again: client connections closed at once, pooled ones to instances and etcd after their keep-alive.
    const settleMs = await until(async () => (await scrape(gateway.url)).sockets <= idle.sockets + 2, 20_000).catch(async () => {
      throw new Error(`open sockets: ${idle.sockets} idle before the load, still ${(await scrape(gateway.url)).sockets} 20 s after it`);
    });
    const settled = await scrape(gateway.url);
    expect(settled.timers, `timers ${idle.timers} idle before, ${settled.timers} after`).toBeLessThanOrEqual(idle.timers + 2);
    expect(settled.watches).toBeGreaterThanOrEqual(1);
    expect(settled.watches).toBeLessThanOrEqual(SERVICES.length);
    const health = (await (await fetch(`${gateway.url}/_edge/health`, admin)).json()) as { services: { service: string }[] };
    expect(health.services.map((s) => s.service).sort()).toEqual(SERVICES);

    await churn.close();
    const stopping = Date.now();
    const exited = await Promise.race([gateway.process.kill('SIGTERM'), new Promise<'hung'>((r) => setTimeout(() => r('hung'), EXIT_MS))]);
    const exitMs = Date.now() - stopping;
    expect(exited, gateway.process.stderr).toEqual({ code: 0, signal: null });

    const total = reports.reduce((sum, [, r]) => sum + r.sent, 0);
    const row = {
      id: 9,
      scenario: 'Soak',
      load: `${n(SOAK_MS / 1000)} s: ${reports.map(([kind, r]) => `${n(r.sent)} ${kind}`).join(', ')} (POST bodies 16 B–256 KiB, downloads to 1 MiB, SSE), ${n(droppers.dropped)} clients hung up mid-answer`,
      fault: `registry churn every second: ${n(churn.registrations)} registrations added and removed (puts/deletes and leases; one in five points at a port that refuses connections)`,
      failures: `${n(reports.reduce((sum, [, r]) => sum + r.failed, 0))} of ${n(total)}`,
      lost: 'nothing',
      figures: `heap ${mb(heapStart)} → ${mb(heapEnd)} (lowest sample in the ${n(WINDOW_MS / 1000)} s after warm-up vs. in the last ${n(WINDOW_MS / 1000)} s), RSS ${mb(idle.rss)} idle, ${mb(underLoad.rss)} under load, ${mb(settled.rss)} after; sockets ${idle.sockets} idle, ${underLoad.sockets} under load, ${settled.sockets} after (within ${n(settleMs)} ms); timers ${idle.timers} → ${settled.timers}; ${settled.watches} etcd watch for ${SERVICES.length} services; exit 0 ${n(exitMs)} ms after SIGTERM`,
    };
    record(row);
  }, TIMEOUT);
});
