import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, Resolver } from '../../src/index.js';
import { countingFetch } from '../support/counting-fetch.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { startServeProcess } from '../support/node-gateway.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { FULL, n, record, scale } from './support/mode.js';
import { differences, etcdViews, viewOf, Workload, type ServiceView } from './support/watch-integrity.js';

/**
 * Watch-mode snapshots, in the library and in `etcd-edge serve`, stay equal to
 * etcd through a random stream of changes while the watch streams are cut and
 * etcd compacts its history, so that resuming watches find their revision gone.
 */
const SEED = Number(process.env.ETCD_EDGE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SERVICES = Array.from({ length: scale(20, 100) }, (_, i) => `chaos5-${i}`);
const OPS = scale(1_500, 10_000);
const PER_SERVICE = 3;
const DROP_EVERY = scale(60, 150);
const COMPACT_EVERY = scale(100, 250);
/** Changes made while the watchers are cut off, before the compaction that makes them resume into compacted history. */
const OPS_WHILE_CUT = 5;
/** The drop after a compacted resume comes within this many changes. */
const RESYNC_DROP_WITHIN = 40;
const CONVERGE_MS = scale(20_000, 60_000);
const TIMEOUT = scale(60_000, 600_000);
/** Far above the run: only the watches (and their resyncs) can bring a change in, never a cache expiry. */
const CACHE_TTL_MS = 3_600_000;

let cluster: EtcdCluster;
let direct: EtcdClient;
const closers: (() => unknown)[] = [];
const at = `seed ${SEED} (replay with ETCD_EDGE_CHAOS_SEED=${SEED})`;

beforeAll(async () => {
  cluster = await startEtcd();
  direct = new EtcdClient({ endpoints: cluster.endpoints });
}, 30_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await cluster?.close();
}, 30_000);

async function proxy(): Promise<TcpProxy> {
  const p = await new TcpProxy({ host: '127.0.0.1', port: Number(new URL(cluster.endpoints[0]!).port) }).listen();
  closers.push(() => p.close());
  return p;
}

async function libraryViews(resolver: Resolver): Promise<Map<string, ServiceView | string>> {
  const views = new Map<string, ServiceView | string>();
  for (const service of SERVICES) {
    try {
      const snapshot = await resolver.resolve(service);
      const status = resolver.status(service);
      // A service with instances must be watched again after the faults, or its next change would be missed.
      if (snapshot.instances.length > 0 && !status?.watched) views.set(service, 'not watched');
      else views.set(service, viewOf(snapshot.instances, snapshot.skipped));
    } catch (error) {
      views.set(service, String(error));
    }
  }
  return views;
}

interface AdminView {
  watched: boolean;
  instances: { id: string; url: string; weight: number; tags: Record<string, string> }[];
  skipped: { key: string }[];
}

async function gatewayViews(base: string): Promise<Map<string, ServiceView | string>> {
  const views = new Map<string, ServiceView | string>();
  for (const service of SERVICES) {
    const response = await fetch(`${base}/_edge/services/${service}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (!response.ok) {
      views.set(service, `${response.status} ${await response.text()}`);
      continue;
    }
    const view = (await response.json()) as AdminView;
    if (view.instances.length > 0 && !view.watched) views.set(service, 'not watched');
    else views.set(service, viewOf(view.instances, view.skipped));
  }
  return views;
}

/** Asks for every service again and again, as traffic would, until stopped. */
function traffic(ask: () => Promise<unknown>): { stop: () => Promise<number> } {
  let running = true;
  let rounds = 0;
  const done = (async () => {
    while (running) {
      await ask().catch(() => undefined);
      rounds++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return rounds;
    },
  };
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/_edge/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
}

describe('chaos 5: watch integrity under compaction and stream drops', () => {
  it('keeps every watched snapshot equal to a fresh range of etcd', async () => {
    const workload = new Workload(direct, SERVICES, SEED);
    await workload.populate(PER_SERVICE);

    const libProxy = await proxy();
    const gatewayProxy = await proxy();
    const counter = countingFetch();
    const resolver = new Resolver({
      etcd: new EtcdClient({ endpoints: [libProxy.url], fetch: counter.fetch, timeoutMs: 2_000 }),
      watch: true,
      cacheTtlMs: CACHE_TTL_MS,
    });
    closers.push(() => resolver.close());
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: gatewayProxy.url,
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
      ETCD_EDGE_CACHE_TTL_MS: String(CACHE_TTL_MS),
    });
    closers.push(() => gateway.close());

    // Every service watched and current before the faults begin.
    const initial = await etcdViews(direct, SERVICES);
    expect(differences(initial, await libraryViews(resolver)), at).toEqual([]);
    expect(differences(initial, await gatewayViews(gateway.url)), at).toEqual([]);
    const rangesBefore = { library: resolver.stats.refreshes, gateway: await metric(gateway.url, 'etcd_edge_cache_refreshes_total') };
    const watchesBefore = counter.count('/v3/watch');

    // The library is asked all along; the gateway stays quiet until the end, so that only its watches keep it current.
    const libTraffic = traffic(() => libraryViews(resolver));
    const faults = { drops: 0, compactions: 0, compactedResumes: 0 };
    const cut = (on: boolean): void => {
      for (const p of [libProxy, gatewayProxy]) {
        p.refuse(on);
        if (on) p.dropAll();
      }
    };
    const drop = (): void => {
      libProxy.dropAll();
      gatewayProxy.dropAll();
      faults.drops++;
    };
    /** A drop some changes after a compacted resume, so that it may cut the resync's reads. */
    let dropAt = -1;
    const started = Date.now();
    let done = 0;
    while (done < OPS) {
      await workload.step();
      done++;
      if (done % DROP_EVERY === 0 || done === dropAt) drop();
      if (done % COMPACT_EVERY === 0) {
        const cutFirst = faults.compactions % 2 === 1;
        if (cutFirst) {
          // Watchers cut off, changes they have not seen, then compaction: they resume into compacted history.
          cut(true);
          faults.drops++;
          for (let i = 0; i < OPS_WHILE_CUT && done < OPS; i++, done++) await workload.step();
        }
        const { header } = await direct.range('chaos5/none');
        await direct.compact(header.revision);
        faults.compactions++;
        if (cutFirst) {
          cut(false);
          faults.compactedResumes++;
          dropAt = done + 1 + workload.below(RESYNC_DROP_WITHIN);
        }
      }
    }
    const opsMs = Date.now() - started;
    const lastOpAt = Date.now();

    // Converged: both agree with one fresh range of etcd, every service (checked again after the traffic stops).
    const converge = async (views: () => Promise<Map<string, ServiceView | string>>) => {
      let diffs: string[] = ['not checked'];
      await until(async () => (diffs = differences(await etcdViews(direct, SERVICES), await views())).length === 0, CONVERGE_MS).catch(() => undefined);
      return { diffs, ms: Date.now() - lastOpAt };
    };
    const [library, served] = await Promise.all([converge(() => libraryViews(resolver)), converge(() => gatewayViews(gateway.url))]);
    const rounds = await libTraffic.stop();
    expect(library.diffs, `library, ${at}`).toEqual([]);
    expect(served.diffs, `etcd-edge serve, ${at}`).toEqual([]);
    const final = await etcdViews(direct, SERVICES);
    expect(differences(final, await libraryViews(resolver)), `library after traffic stopped, ${at}`).toEqual([]);
    expect(differences(final, await gatewayViews(gateway.url)), `etcd-edge serve after traffic stopped, ${at}`).toEqual([]);
    expect(faults.compactedResumes, at).toBeGreaterThan(0);

    const reranges = {
      library: resolver.stats.refreshes - rangesBefore.library,
      gateway: (await metric(gateway.url, 'etcd_edge_cache_refreshes_total')) - rangesBefore.gateway,
    };
    // Each compacted resume made the watchers read their services again.
    expect(Math.min(reranges.library, reranges.gateway), at).toBeGreaterThanOrEqual(faults.compactedResumes);
    const instances = [...final.values()].reduce((sum, v) => sum + v.instances.length, 0);
    const row = {
      id: 5,
      scenario: 'watch integrity',
      load: `${n(OPS)} random changes over ${SERVICES.length} services in ${(opsMs / 1_000).toFixed(1)} s (${[...workload.counts].map(([k, v]) => `${n(v)} ${k}`).join(', ')}); the library reading every service in a loop (${n(rounds)} rounds), the gateway idle until the end`,
      fault: `${faults.drops} watch-stream drops, ${faults.compactions} compactions at the current revision, ${faults.compactedResumes} of them while cut off so the resume revision was compacted`,
      failures: `0 of ${SERVICES.length * 2} snapshots differ from a fresh range (library and etcd-edge serve)`,
      lost: 'nothing: no missing, duplicate or stale instance',
      figures: `converged ${library.ms} ms (library), ${served.ms} ms (serve) after the last change; re-reads of a service ${n(reranges.library)} (library), ${n(reranges.gateway)} (serve); library watch streams opened ${n(counter.count('/v3/watch') - watchesBefore)}; ${n(instances)} instances at the end; seed ${SEED}`,
    };
    record(row);
    if (FULL) console.log(JSON.stringify(row));
  }, TIMEOUT);
});
