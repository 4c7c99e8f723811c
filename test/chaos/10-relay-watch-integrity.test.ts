import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/index.js';
import { CliProcess } from '../support/cli-process.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { startServeProcess } from '../support/node-gateway.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { FULL, n, record, scale } from './support/mode.js';
import { RequestCounter } from './support/request-counter.js';
import { differences, etcdViews, viewOf, Workload, type ServiceView } from './support/watch-integrity.js';

/**
 * Chaos 5 through the snapshot relay: a real `etcd-edge relay` reads etcd
 * through a proxy that cuts its watch streams (and, before some compactions,
 * keeps it away until the history it would resume from is compacted), and an
 * `etcd-edge serve` gateway in watch mode long-polls the relay through another
 * proxy that is cut too. Both must end equal to a fresh range of etcd, the
 * relay must keep watching (its etcd reads bounded, not one per request), and
 * its revisions must never go back or name two different lists.
 */
const SEED = Number(process.env.ETCD_EDGE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SERVICES = Array.from({ length: scale(20, 100) }, (_, i) => `chaos10-${i}`);
const OPS = scale(1_500, 10_000);
const PER_SERVICE = 3;
const DROP_EVERY = scale(60, 150);
const COMPACT_EVERY = scale(100, 250);
/** Changes made while the relay is cut off from etcd, before the compaction that makes it resume into compacted history. */
const OPS_WHILE_CUT = 5;
/** The drop after a compacted resume comes within this many changes, so that it may cut the relay's resync reads. */
const RESYNC_DROP_WITHIN = 40;
const CONVERGE_MS = scale(20_000, 60_000);
const TIMEOUT = scale(90_000, 600_000);
/** Far above the run: only the relay's long-polls can bring a change to the gateway, never a cache expiry. */
const CACHE_TTL_MS = 3_600_000;
/** Reads of the relay after convergence, during which only services without records may be read from etcd. */
const QUIET_MS = 2_000;
const TOKEN = 'chaos10-relay-token-0123456789';
const RELAY = { authorization: `Bearer ${TOKEN}` };

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

/** target ← counter ← TcpProxy: the proxy cuts, the counter counts. */
async function countedProxy(targetPort: number): Promise<{ proxy: TcpProxy; counter: RequestCounter }> {
  const counter = await new RequestCounter(targetPort).listen();
  const proxy = await new TcpProxy({ host: '127.0.0.1', port: counter.port }).listen();
  closers.push(() => counter.close(), () => proxy.close());
  return { proxy, counter };
}

async function startRelay(etcdUrl: string): Promise<{ url: string; process: CliProcess }> {
  // One address (loopback) makes every request here: the per-client limits are for the internet, not this test.
  const relay = new CliProcess(['relay', '--port', '0', '--host', '127.0.0.1'], {
    ETCD_ENDPOINTS: etcdUrl,
    ETCD_EDGE_RELAY_TOKENS: TOKEN,
    ETCD_EDGE_RELAY_RATE: '1000000',
    ETCD_EDGE_RELAY_BURST: '1000000',
  });
  closers.push(() => relay.kill('SIGKILL'));
  await until(() => /listening on http/.test(relay.stdout) || relay.child.exitCode !== null, 15_000);
  const url = /listening on (http:\/\/\S+)/.exec(relay.stdout)?.[1];
  if (!url) throw new Error(`etcd-edge relay did not start:\n${relay.stderr}`);
  return { url, process: relay };
}

interface RelayBody {
  revision: number;
  instances: { id: string; url: string; weight: number; tags: Record<string, string> }[];
  skipped: { key: string }[];
  stale: boolean;
}

/**
 * Every answer the relay gives is checked against the wire contract as it
 * comes: its revision never goes back, one revision always names the same
 * lists, and the ETag is the revision.
 */
class RelayReader {
  readonly violations: string[] = [];
  reads = 0;
  readonly #seen = new Map<string, { revision: number; lists: string }>();

  constructor(readonly base: string) {}

  async view(service: string): Promise<ServiceView | string> {
    const response = await fetch(`${this.base}/v1/services/${service}`, { headers: RELAY });
    if (response.status !== 200) return `${response.status} ${await response.text()}`;
    const body = (await response.json()) as RelayBody;
    this.reads++;
    const lists = JSON.stringify([body.instances, body.skipped]);
    const seen = this.#seen.get(service);
    if (seen && body.revision < seen.revision) this.violations.push(`${service}: revision ${seen.revision} then ${body.revision}`);
    if (seen && body.revision === seen.revision && lists !== seen.lists) this.violations.push(`${service}: revision ${body.revision} named two lists`);
    if (response.headers.get('etag') !== `"${body.revision}"`) this.violations.push(`${service}: ETag ${response.headers.get('etag')} for revision ${body.revision}`);
    if (!seen || body.revision >= seen.revision) this.#seen.set(service, { revision: body.revision, lists });
    return body.stale ? 'stale' : viewOf(body.instances, body.skipped);
  }

  /** The revision the relay holds for `service` (0 when it answers otherwise). */
  async revision(service: string): Promise<number> {
    const response = await fetch(`${this.base}/v1/services/${service}`, { headers: RELAY });
    return response.status === 200 ? ((await response.json()) as RelayBody).revision : 0;
  }

  async views(): Promise<Map<string, ServiceView | string>> {
    const views = new Map<string, ServiceView | string>();
    for (const service of SERVICES) views.set(service, await this.view(service).catch((error: unknown) => String(error)));
    return views;
  }

  async health(): Promise<{ status: string; watches: number; waiting: number }> {
    return (await (await fetch(`${this.base}/health`, { headers: RELAY })).json()) as { status: string; watches: number; waiting: number };
  }
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
    // Held by a long-poll loop, or its next change would never come.
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

describe('chaos 10: snapshot relay watch integrity under compaction and stream drops', () => {
  it('keeps the relay and a gateway reading it equal to a fresh range of etcd', async () => {
    const workload = new Workload(direct, SERVICES, SEED);
    await workload.populate(PER_SERVICE);

    const toEtcd = await countedProxy(Number(new URL(cluster.endpoints[0]!).port));
    const relay = await startRelay(toEtcd.proxy.url);
    const reader = new RelayReader(relay.url);
    const toRelay = await countedProxy(Number(new URL(relay.url).port));
    const gateway = await startServeProcess({
      ETCD_ENDPOINTS: '',
      ETCD_EDGE_RELAY_URL: toRelay.proxy.url,
      ETCD_EDGE_RELAY_TOKEN: TOKEN,
      ETCD_EDGE_WATCH: 'on',
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ADMIN_TOKEN,
      ETCD_EDGE_CACHE_TTL_MS: String(CACHE_TTL_MS),
    });
    closers.push(() => gateway.close());

    // Every service watched by the relay and long-polled by the gateway before the faults begin.
    const initial = await etcdViews(direct, SERVICES);
    expect(differences(initial, await reader.views()), at).toEqual([]);
    expect(differences(initial, await gatewayViews(gateway.url)), at).toEqual([]);
    await until(async () => (await reader.health()).waiting === SERVICES.length, 10_000);
    const before = { ranges: toEtcd.counter.count('/v3/kv/range'), watches: toEtcd.counter.count('/v3/watch'), polls: toRelay.counter.count('/v1/services/') };
    const revisionBefore = (await direct.range('chaos5/none')).header.revision;

    // The relay is read all along, as many gateways would; the gateway itself only long-polls until the end.
    const relayTraffic = traffic(() => reader.views());
    const faults = { drops: 0, compactions: 0, compactedResumes: 0, edgeResumes: 0 };
    const drop = (): void => {
      toEtcd.proxy.dropAll();
      toRelay.proxy.dropAll();
      faults.drops++;
    };
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
          // The relay cut off from etcd, changes it has not seen, then compaction: its watch resumes into compacted history.
          const edge = faults.compactedResumes % 2 === 0 ? await workload.updateThenDelete() : undefined;
          // At the edge: the relay has seen revision C - 1 (an update) and is cut before the delete at C, which the
          // compaction at C removes; resuming at C itself is accepted by etcd and would never bring that delete.
          if (edge) await until(async () => (await reader.revision(edge.service)) >= edge.revision, 10_000);
          toEtcd.proxy.refuse(true);
          toEtcd.proxy.dropAll();
          faults.drops++;
          if (edge) {
            await edge.remove();
            done += 2;
            faults.edgeResumes++;
          } else {
            for (let i = 0; i < OPS_WHILE_CUT && done < OPS; i++, done++) await workload.step();
          }
        }
        const { header } = await direct.range('chaos5/none');
        await direct.compact(header.revision);
        faults.compactions++;
        if (cutFirst) {
          toEtcd.proxy.refuse(false);
          faults.compactedResumes++;
          dropAt = done + 1 + workload.below(RESYNC_DROP_WITHIN);
        }
      }
    }
    const opsMs = Date.now() - started;
    const lastOpAt = Date.now();

    // Converged: the relay's own snapshots and the gateway's both agree with one fresh range of etcd, every service.
    const converge = async (views: () => Promise<Map<string, ServiceView | string>>) => {
      let diffs: string[] = ['not checked'];
      await until(async () => (diffs = differences(await etcdViews(direct, SERVICES), await views())).length === 0, CONVERGE_MS).catch(() => undefined);
      return { diffs, ms: Date.now() - lastOpAt };
    };
    const [relayed, served] = await Promise.all([converge(() => reader.views()), converge(() => gatewayViews(gateway.url))]);
    const rounds = await relayTraffic.stop();
    expect(relayed.diffs, `relay, ${at}`).toEqual([]);
    expect(served.diffs, `gateway reading the relay, ${at}`).toEqual([]);
    const final = await etcdViews(direct, SERVICES);
    expect(differences(final, await reader.views()), `relay after traffic stopped, ${at}`).toEqual([]);
    expect(differences(final, await gatewayViews(gateway.url)), `gateway after traffic stopped, ${at}`).toEqual([]);
    expect(reader.violations, `relay wire contract, ${at}`).toEqual([]);
    expect(faults.drops, at).toBeGreaterThan(0);
    expect(faults.compactedResumes, at).toBeGreaterThan(0);
    expect(faults.edgeResumes, at).toBeGreaterThan(0);

    // Still long-polling: the gateway holds one wait per service at the relay, and the relay one etcd watch.
    await until(async () => (await reader.health()).waiting === SERVICES.length, 10_000);
    expect((await reader.health()).watches, at).toBe(1);
    const revisions = (await direct.range('chaos5/none')).header.revision - revisionBefore;
    const used = {
      ranges: toEtcd.counter.count('/v3/kv/range') - before.ranges,
      watches: toEtcd.counter.count('/v3/watch') - before.watches,
      polls: toRelay.counter.count('/v1/services/') - before.polls,
    };
    // Each compacted resume made the relay read its services again (those with instances: the others are not watched).
    expect(used.ranges, at).toBeGreaterThanOrEqual((faults.compactedResumes * SERVICES.length) / 2);
    expect(used.ranges, `relay ranges against ${n(reader.reads)} relay reads, ${at}`).toBeLessThanOrEqual(SERVICES.length * (1 + 2 * faults.compactedResumes) + 50);
    // A long-poll is answered by a change to its service (a txn changes up to 5), a cut, or the end of its 30 s wait.
    const waitEnds = Math.ceil((Date.now() - started) / 30_000);
    expect(used.polls, at).toBeLessThanOrEqual(5 * revisions + SERVICES.length * (faults.drops + 1 + waitEnds));

    // Steady state, the relay read in a loop: no range but the negative-cache re-read (each second) of a service without records.
    const empty = [...final.values()].filter((v) => v.instances.length === 0 && v.skipped.length === 0).length;
    const quiet = { ranges: toEtcd.counter.count('/v3/kv/range'), reads: reader.reads, at: Date.now() };
    while (Date.now() - quiet.at < QUIET_MS) await reader.views();
    const quietRanges = toEtcd.counter.count('/v3/kv/range') - quiet.ranges;
    const quietReads = reader.reads - quiet.reads;
    expect(quietRanges, `ranges in ${QUIET_MS} ms of ${n(quietReads)} relay reads, ${empty} services empty, ${at}`).toBeLessThanOrEqual(empty * (QUIET_MS / 1_000 + 1));

    const instances = [...final.values()].reduce((sum, v) => sum + v.instances.length, 0);
    const row = {
      id: 10,
      scenario: 'relay watch integrity',
      load: `${n(OPS)} random changes over ${SERVICES.length} services in ${(opsMs / 1_000).toFixed(1)} s (${[...workload.counts].map(([k, v]) => `${n(v)} ${k}`).join(', ')}); etcd-edge relay read in a loop (${n(rounds)} rounds, ${n(reader.reads)} reads); one etcd-edge serve in watch mode long-polling the relay, idle until the end`,
      fault: `${faults.drops} drops of the relay's etcd connections and the gateway's long-polls, ${faults.compactions} compactions at the current revision, ${faults.compactedResumes} of them while the relay was cut off so its resume revision was compacted (${faults.edgeResumes} of those cut between an update it saw and a delete at the compaction's own revision)`,
      failures: `0 of ${SERVICES.length * 2} snapshots differ from a fresh range (relay and the gateway reading it); 0 revisions gone back or naming two lists`,
      lost: 'nothing: no missing, duplicate or stale instance',
      figures: `converged ${relayed.ms} ms (relay), ${served.ms} ms (gateway) after the last change; relay etcd ranges ${n(used.ranges)} for ${n(reader.reads)} relay reads, watch streams opened ${n(used.watches)}; after convergence ${n(quietRanges)} ranges in ${QUIET_MS / 1_000} s of ${n(quietReads)} relay reads; gateway long-polls ${n(used.polls)} for ${n(revisions)} etcd revisions; ${n(instances)} instances at the end; seed ${SEED}`,
    };
    record(row);
    console.log(`chaos 10: ${n(OPS)} ops in ${opsMs} ms, ${faults.drops} drops, ${faults.compactions} compactions (${faults.compactedResumes} resumed into compacted history, ${faults.edgeResumes} at the compaction's own revision), converged ${relayed.ms} ms (relay) / ${served.ms} ms (gateway), relay ranges ${used.ranges} (${quietRanges} in ${QUIET_MS} ms quiet, ${quietReads} reads, ${empty} empty), relay watches ${used.watches}, relay reads ${reader.reads}, gateway long-polls ${used.polls} for ${revisions} revisions, seed ${SEED}`);
    if (FULL) console.log(JSON.stringify(row));
  }, TIMEOUT);
});

