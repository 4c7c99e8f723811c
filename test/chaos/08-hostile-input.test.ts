import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, jsonBytes, op } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { startTestWorker } from '../support/workerd.js';
import { canaryTraps, forbiddenAddresses, hostileRecord, HOSTILE_SERVICES, INJECTED, SPOOFED_HOST, type Canaries } from './support/hostile-input.js';
import { HOP_FIELDS, hostileRequest, isWellFormed, requestBytes, routedServices, type HostileRequest } from './support/hostile-requests.js';
import { exchange, Recorder, rssBytes, type Exchange, type Received } from './support/hostile-wire.js';
import { FULL, n, record, scale } from './support/mode.js';

const ADMIN_TOKEN = 'hostile-input-admin-token-0123';
const RUNS = scale(150, 2_000);
const MANY = scale(10_000, 100_000);
/** RSS the Node gateway may grow by to hold MANY instances: ~1 KB per decoded instance with its key, URL and tables, times three for the heap's slack. */
const RSS_BOUND = scale(100, 300) * 1024 * 1024;
const TXN_OPS = 128;
const ERROR_CODES: Record<number, string[]> = { 502: ['UPSTREAM_UNREACHABLE'], 503: ['NO_INSTANCES', 'ETCD_UNAVAILABLE'], 504: ['UPSTREAM_TIMEOUT'], 508: ['LOOP_DETECTED'] };

/** Fields a request's `Connection` headers name, lower-case. */
const connectionNamed = (request: HostileRequest): string[] =>
  request.headers.filter(([name]) => name.toLowerCase() === 'connection').flatMap(([, value]) => value.split(',').map((t) => t.trim().toLowerCase()));

const statusList = (statuses: Record<string, number>): string =>
  Object.entries(statuses)
    .map(([status, count]) => `${status}×${n(count)}`)
    .join(' ');

interface Runtime {
  name: string;
  url: string;
  /** The gateway sees the request-target as sent (Node), not as the runtime parsed it (workerd). */
  rawPaths: boolean;
  /** The gateway sees the client's `Connection` header (workerd consumes it first). */
  seesConnection: boolean;
  /** The client address is the socket peer, so the last `X-Forwarded-For` entry is checkable. */
  peerAddress: boolean;
  /**
   * Only well-formed requests without a body (workerd). Locally the Worker sits
   * behind wrangler's proxy and miniflare's entry worker, and malformed or
   * body-carrying hostile requests break those dev tools rather than the
   * Worker: plain-text 500s from workerd's parser for a folded or doubled Host
   * or two Content-Lengths, a length-and-chunked body read as two requests,
   * a GET body "Cannot reconstruct a Request with a used body", then later
   * requests hanging or "Your worker restarted mid-request". Cloudflare's edge
   * refuses such requests in front of a deployed Worker; Node takes them all.
   */
  wellFormedOnly: boolean;
  alive(): boolean;
}

interface FuzzStats {
  requests: number;
  writes: number;
  statuses: Record<string, number>;
  routed: number;
}

interface Issued {
  /** Services the runtime may route it to (none: it names no routable service). */
  services: string[];
  /** Fields the request's `Connection` header named. */
  connectionNamed: string[];
  /** Hidden in another request's body. */
  smuggled?: boolean;
}

describe('hostile input at scale', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let canaries: Canaries;
  const recorders: Record<'real' | 'decoy' | 'big' | 'many', Recorder> = {} as never;
  const watched: Recorder[] = [];
  let canaryLoopback: Recorder;
  let canaryDenied: Recorder;
  /** Request id → what the request was and where it may go. */
  const issued = new Map<string, Issued>();
  const checked = new Map<Recorder, number>();
  const results: Record<string, { fuzz: FuzzStats; rssGrowth?: number; firstRoutedMs: number }> = {};
  let manyWriteMs = 0;

  beforeAll(async () => {
    cluster = await startEtcd();
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    for (const name of ['real', 'decoy', 'big', 'many'] as const) recorders[name] = await Recorder.start(`fz-${name}`);
    canaryLoopback = await Recorder.start('canary-loopback');
    canaryDenied = await Recorder.start('canary-denied', '127.0.0.2');
    watched.push(recorders.real, recorders.decoy, recorders.big, recorders.many);
    canaries = { loopbackPort: canaryLoopback.port, deniedPort: canaryDenied.port };
    for (const name of ['real', 'decoy', 'big'] as const) {
      await etcd.put(`services/fz-${name}/one`, jsonBytes({ Op: 0, Addr: recorders[name].url, Metadata: { weight: 1 } }));
    }
    for (const trap of canaryTraps(canaries, ['fz-real', 'fz-decoy', 'fz-big'])) await etcd.put(trap.key, trap.value);
    for (const [i, addr] of forbiddenAddresses(canaries).entries()) await etcd.put(`services/fz-meta/m${i}`, jsonBytes({ Op: 0, Addr: addr, Metadata: { weight: 100 } }));
    // 1 MiB, valid JSON, aimed at the canary: it must be skipped for its size, never decoded.
    await etcd.put('services/fz-big/huge', jsonBytes({ Op: 0, Addr: canaryLoopback.url, Metadata: { weight: 1000, pad: 'p'.repeat(1024 * 1024) } }));
  }, 60_000);

  afterAll(async () => {
    if (results.node && results.workerd) {
      const [node, worker] = [results.node, results.workerd];
      const fuzzed = node.fuzz.requests + worker.fuzz.requests;
      record({
        id: 8,
        scenario: 'Hostile input at scale',
        load: `${n(node.fuzz.requests)} fuzzed raw requests to the Node gateway, ${n(worker.fuzz.requests)} to the Worker (fast-check; there well-formed HTTP without a body, see the test); ${n(node.fuzz.writes + worker.fuzz.writes)} hostile etcd records written meanwhile; ${n(MANY)} instances of one service`,
        fault: 'random bytes, truncated JSON, huge numbers, wrong types, non-UTF-8 keys, a 1 MiB value, metadata and denied addresses in etcd; odd names, paths, queries, framing, hop-by-hop, CR/LF, long and spoofed headers in requests',
        failures: `0 of ${n(fuzzed)} (no 500, no crash, nothing sent to a canary or the wrong service, no hop-by-hop field forwarded)`,
        lost: 'nothing',
        figures:
          `${n(MANY)} instances: Node RSS +${Math.round(node.rssGrowth! / 1024 / 1024)} MB, first routed request ${n(node.firstRoutedMs)} ms after the writes on Node, ` +
          `${n(worker.firstRoutedMs)} ms on the Worker; writing them took ${n(manyWriteMs)} ms (txns of ${TXN_OPS}); ` +
          `fuzzed requests that reached a backend: ${n(node.fuzz.routed)} on Node, ${n(worker.fuzz.routed)} on the Worker; ` +
          `Node statuses ${statusList(node.fuzz.statuses)}; Worker statuses (well-formed HTTP only) ${statusList(worker.fuzz.statuses)} (* without the gateway's request id: the runtime's HTTP parser, or a route outside /svc/)`,
      });
    }
    await Promise.all([...watched, canaryLoopback, canaryDenied].map((r) => r?.close()));
    await cluster?.close();
  });

  /** Runs the request fuzzer against one runtime, writing hostile records into etcd between requests. */
  async function fuzz(runtime: Runtime): Promise<FuzzStats> {
    const stats: FuzzStats = { requests: 0, writes: 0, statuses: {}, routed: 0 };
    const { hostname, port } = new URL(runtime.url);
    await fc.assert(
      fc.asyncProperty(fc.option(hostileRecord(canaries), { freq: 2 }), runtime.wellFormedOnly ? hostileRequest(canaries).filter((r) => isWellFormed(r) && r.body === undefined) : hostileRequest(canaries), async (write, request) => {
        if (write) {
          await etcd.put(write.key, write.value);
          stats.writes++;
        }
        const id = `fz-${runtime.name}-${issued.size}`;
        const services = routedServices(request.target, runtime.rawPaths);
        issued.set(id, { services, connectionNamed: connectionNamed(request) });
        issued.set(`${id}-smuggled`, { services: ['fz-decoy'], connectionNamed: [], smuggled: true });
        const answer = await exchange(hostname, Number(port), requestBytes(request, id), { head: request.method === 'HEAD', timeoutMs: 15_000 });
        stats.requests++;
        // `*`: without the gateway's request id, so from the runtime's HTTP parser (400, 431) or a route outside /svc/ (401, 404).
        const label = answer.kind !== 'response' ? answer.kind : answer.headers.has('x-request-id') ? String(answer.status) : `${answer.status}*`;
        stats.statuses[label] = (stats.statuses[label] ?? 0) + 1;
        checkAnswer(runtime, request, services, answer);
        stats.routed += checkRecorders(runtime);
      }),
      { numRuns: RUNS, endOnFailure: !FULL },
    );
    return stats;
  }

  function checkAnswer(runtime: Runtime, request: HostileRequest, services: string[], answer: Exchange): void {
    const context = `${runtime.name}: ${JSON.stringify({ ...request, headers: request.headers.map(([k, v]) => [k, v.slice(0, 60)]) })}`;
    expect(answer.kind, context).toBe('response');
    if (answer.kind !== 'response') return;
    expect(answer.status, `${context} answered ${answer.body.toString('utf8').slice(0, 300)}`).not.toBe(500);
    if (answer.status >= 500) {
      expect(Object.keys(ERROR_CODES), context).toContain(String(answer.status));
      if (request.method !== 'HEAD') {
        const body = JSON.parse(answer.body.toString('utf8')) as { error: { code: string } };
        expect(ERROR_CODES[answer.status], context).toContain(body.error.code);
      }
    }
    // Instances that are all denied or malformed mean no attempt, so never a 502 or 504 and never a backend's answer.
    if (services.includes('fz-meta')) expect([502, 504], context).not.toContain(answer.status);
    if (services.length > 0 && services.every((s) => HOSTILE_SERVICES.includes(s))) expect(answer.status >= 400, context).toBe(true);
    for (const name of ['x-secret-hop', 'proxy-authenticate', INJECTED]) expect(answer.headers.has(name), `${name} ${context}`).toBe(false);
  }

  /** Checks what every backend received since the last check; returns how many requests reached one. */
  function checkRecorders(runtime: Runtime): number {
    expect(canaryLoopback.received, 'the unregistered loopback canary').toEqual([]);
    expect(canaryDenied.received, 'the canary the deny list names').toEqual([]);
    let routed = 0;
    for (const recorder of watched) {
      const fresh = recorder.received.slice(checked.get(recorder) ?? 0);
      checked.set(recorder, recorder.received.length);
      for (const got of fresh) {
        routed++;
        checkForwarded(runtime, recorder, got);
      }
    }
    return routed;
  }

  function checkForwarded(runtime: Runtime, recorder: Recorder, got: Received): void {
    const h = got.headers;
    const context = `${runtime.name} → ${recorder.name}: ${JSON.stringify(got).slice(0, 2000)}`;
    const id = h['x-request-id'];
    expect(typeof id === 'string' && issued.has(id), `unattributable request ${context}`).toBe(true);
    const request = issued.get(id as string)!;
    expect(request.services, `sent to another service's instance ${context}`).toContain(recorder.name);
    expect(got.url, context).not.toMatch(/[\r\n]/);
    expect(request.smuggled, `a request hidden in a body reached a backend ${context}`).toBeUndefined();
    for (const name of [INJECTED, ...HOP_FIELDS, ...(runtime.seesConnection ? request.connectionNamed : [])]) expect(h[name], `${name} ${context}`).toBeUndefined();
    if (h.connection !== undefined) expect(h.connection, context).toMatch(/^(keep-alive|close)$/i);
    if (h['transfer-encoding'] !== undefined) expect(h['transfer-encoding'], context).toBe('chunked');
    expect(h['x-forwarded-proto'], context).toBe('http');
    expect(String(h['x-forwarded-host']), context).not.toContain(SPOOFED_HOST);
    expect(String(h.forwarded).split(',').at(-1), context).not.toContain(SPOOFED_HOST);
    expect(String(h.via), context).toMatch(/etcd-edge-[0-9a-f]{8}$/);
    if (runtime.peerAddress) expect(String(h['x-forwarded-for']).split(',').at(-1)!.trim(), context).toBe('127.0.0.1');
  }

  /** A plain GET whose request id is known, so the backend that gets it can be checked. */
  function get(runtime: Runtime, service: string, rest: string): Promise<Response> {
    const id = `plain-${runtime.name}-${issued.size}`;
    issued.set(id, { services: [service], connectionNamed: [] });
    return fetch(`${runtime.url}/svc/${service}/${rest}`, { headers: { 'x-request-id': id } });
  }

  async function admin(runtime: Runtime, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${runtime.url}/_edge/${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** After the fuzzing: alive, healthy, the hostile records reported, and the real services still routed. */
  async function checkAftermath(runtime: Runtime): Promise<void> {
    expect(runtime.alive()).toBe(true);
    const health = await admin(runtime, 'health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    for (const name of ['real', 'decoy', 'big'] as const) {
      for (let i = 0; i < 5; i++) {
        const res = await get(runtime, `fz-${name}`, 'after');
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(`from fz-${name}`);
      }
    }
    checkRecorders(runtime);
    const meta = (await admin(runtime, 'services/fz-meta')).body as { instances: unknown[]; skipped: { reason: string }[] };
    expect(meta.instances).toEqual([]);
    expect(meta.skipped).toHaveLength(forbiddenAddresses(canaries).length);
    for (const s of meta.skipped) expect(s.reason).toMatch(/^address policy/);
    const big = (await admin(runtime, 'services/fz-big')).body as { instances: { url: string }[]; skipped: { key: string; reason: string }[] };
    expect(big.instances.map((i) => i.url)).toEqual([recorders.big.url]);
    expect(big.skipped).toContainEqual({ key: 'services/fz-big/huge', layout: 'native', reason: expect.stringMatching(/^value is 10\d{5} bytes, above 65536$/) });
    const real = (await admin(runtime, 'services/fz-real')).body as { instances: { url: string }[]; skipped: { key: string }[] };
    expect(real.instances.map((i) => i.url)).toEqual([recorders.real.url]);
    expect(real.skipped.length).toBeGreaterThanOrEqual(canaryTraps(canaries, ['fz-real']).length - 1);
  }

  /** Writes MANY instances of `fz-many` (transactions of 128 puts, 8 in flight), all pointing at one recorder. */
  async function writeMany(): Promise<void> {
    const started = Date.now();
    const batches: number[] = [];
    for (let i = 0; i < MANY; i += TXN_OPS) batches.push(i);
    const value = (i: number) => jsonBytes({ Op: 0, Addr: recorders.many.url, Metadata: { weight: 1 + (i % 100), tags: { zone: `z${i % 7}`, version: `v${i % 3}` } } });
    const worker = async (): Promise<void> => {
      for (let from = batches.shift(); from !== undefined; from = batches.shift()) {
        const ops = [];
        for (let i = from; i < Math.min(from + TXN_OPS, MANY); i++) ops.push(op.put(`services/fz-many/instance-${String(i).padStart(6, '0')}`, value(i)));
        await etcd.txn({ success: ops });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    manyWriteMs = Date.now() - started;
  }

  /** Time from now to the first request to `fz-many` that an instance answered, then 100 more that all must be. */
  async function routeMany(runtime: Runtime): Promise<number> {
    const started = Date.now();
    await until(async () => (await get(runtime, 'fz-many', 'first')).status === 200, scale(30_000, 120_000));
    const firstRoutedMs = Date.now() - started;
    const before = recorders.many.received.length;
    for (let i = 0; i < 100; i++) {
      const res = await get(runtime, 'fz-many', `x${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(recorders.many.received.length - before).toBe(100);
    checkRecorders(runtime);
    return firstRoutedMs;
  }

  it(
    'the Node gateway: no 500, no crash, nothing sent outside the snapshot, no hop-by-hop field forwarded; one service of 100,000 instances (10,000 in fast mode) in bounded memory',
    async () => {
      const gateway = await startServeProcess({
        ETCD_ENDPOINTS: cluster.endpoints.join(','),
        ETCD_EDGE_ALLOW_LOOPBACK: 'true',
        ETCD_EDGE_DENY: '127.0.0.2',
        ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '3000',
        ADMIN_TOKEN,
      });
      const runtime: Runtime = { name: 'node', url: gateway.url, rawPaths: true, seesConnection: true, peerAddress: true, wellFormedOnly: false, alive: () => gateway.process.child.exitCode === null };
      try {
        const fuzzStats = await fuzz(runtime);
        await checkAftermath(runtime);
        const rssBefore = await rssBytes(gateway.pid!);
        await writeMany();
        const firstRoutedMs = await routeMany(runtime);
        const rssGrowth = (await rssBytes(gateway.pid!)) - rssBefore;
        expect(rssGrowth).toBeLessThan(RSS_BOUND);
        const many = (await admin(runtime, 'services/fz-many')).body as { instances: unknown[] };
        expect(many.instances).toHaveLength(MANY);
        expect(runtime.alive()).toBe(true);
        results.node = { fuzz: fuzzStats, rssGrowth, firstRoutedMs };
      } finally {
        await gateway.close();
      }
    },
    scale(60_000, 900_000),
  );

  it(
    'the Worker in workerd: no 500, nothing sent outside the snapshot, no hop-by-hop field forwarded; the 100,000-instance service routed',
    async () => {
      const worker = await startTestWorker('etcd-edge-hostile-input', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
        ETCD_ENDPOINTS: cluster.endpoints.join(','),
        ETCD_EDGE_ALLOW_LOOPBACK: 'true',
        ETCD_EDGE_DENY: '127.0.0.2',
        ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '3000',
        ADMIN_TOKEN,
      });
      let disposed = false;
      const runtime: Runtime = { name: 'workerd', url: (await worker.url).origin, rawPaths: false, seesConnection: false, peerAddress: false, wellFormedOnly: true, alive: () => !disposed };
      try {
        const fuzzStats = await fuzz(runtime);
        await checkAftermath(runtime);
        if (manyWriteMs === 0) await writeMany();
        const firstRoutedMs = await routeMany(runtime);
        results.workerd = { fuzz: fuzzStats, firstRoutedMs };
      } finally {
        disposed = true;
        await worker.dispose();
      }
    },
    scale(60_000, 900_000),
  );
});
