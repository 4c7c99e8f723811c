import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backends, type Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster, type EtcdMember } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { until } from '../support/until.js';
import { failureSummary, type LoadReport } from './support/load.js';
import { n, record, scale } from './support/mode.js';
import { closeLanes, Registry, removedFrom, routedTo, startLanes, timesPerMode, type Lane } from './support/routing.js';

/**
 * etcd is down entirely for a while under load, with two gateways (watch mode
 * and cache mode with a short TTL, so its cache expires during the outage).
 * Requests to healthy instances must all succeed from the last good lists, a
 * service never seen before must get a clean 503, the admin health must say
 * etcd is down and how old each list is, and once etcd is back (same data dir)
 * changes written right away must be routed promptly.
 */
const SERVICE = 'steady';
const UNKNOWN = 'never-registered';
const CACHE_TTL_MS = 500;
const OUTAGE_MS = scale(4_500, 30_000);
/** The target: changes written once etcd is back are routed within 5 s. */
const PICKUP_BOUND_MS = 5_000;
/** How much later than the kill a watch-mode gateway may notice its stream is gone, on a loaded machine. */
const NOTICE_SLACK_MS = 1_000;
const TIMEOUT = scale(60_000, 300_000);

interface Health {
  status: string;
  etcd: { reachable: boolean; error?: string };
  services: { service: string; instances: number; ageMs: number; watched: boolean; watchDownForMs?: number }[];
  cache: { refreshes: number; refreshFailures: number; staleIfErrorServes: number };
}

let cluster: EtcdCluster;
let member: EtcdMember;
let registry: Registry;
const backends = new Backends();
let a: Backend;
let b: Backend;
let c: Backend;
const lanes: Lane[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  member = cluster.members[0]!;
  registry = new Registry(cluster.endpoints);
  [a, b, c] = [await backends.start('a'), await backends.start('b'), await backends.start('c')];
  for (const backend of [a, b]) await registry.add(SERVICE, backend.url);
  lanes.push(...(await startLanes(cluster.endpoints, SERVICE, CACHE_TTL_MS)));
}, 60_000);

afterAll(async () => {
  await closeLanes(lanes);
  await backends.closeAll();
  await cluster?.close();
}, 30_000);

async function health(lane: Lane): Promise<Health> {
  const res = await fetch(`${lane.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Health;
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;
const perMode = (times: number[]): string => timesPerMode(lanes, times);

describe('etcd fully down under load', () => {
  it('serves every request from the last lists, answers unknown services 503, and routes changes once etcd is back', async () => {
    await Promise.all(lanes.map((l) => l.loop.answers(50)));
    for (const lane of lanes) {
      for (const backend of [a, b]) expect(lane.routes.last(backend.name), `${lane.mode} ${backend.name}`).toBeDefined();
      expect(await health(lane)).toMatchObject({ status: 'ok', etcd: { reachable: true } });
    }

    const downAt = Date.now();
    await member.stop('SIGKILL');

    // A service nobody asked for before: nothing to serve, so a clean 503.
    for (const lane of lanes) {
      const res = await fetch(`${lane.url}/svc/${UNKNOWN}/x`);
      const text = await res.text();
      expect(res.status, `${lane.mode}: ${text}`).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(text)).toEqual({ error: { code: 'ETCD_UNAVAILABLE', message: expect.any(String), service: UNKNOWN } });
      for (const internal of ['127.0.0.1', String(member.spec.clientPort), 'ECONNREFUSED', 'Error:', '    at ']) expect(text).not.toContain(internal);
    }
    // Watch mode reads nothing more once etcd is back: its watch resumes where it stopped.
    const watchReads = (await health(lanes[0]!)).cache.refreshes;

    await sleepUntil(downAt + OUTAGE_MS - 500);
    const during = await Promise.all(lanes.map(health));
    const downFor = Date.now() - downAt;
    lanes.forEach((lane, i) => {
      const h = during[i]!;
      expect(h, lane.mode).toMatchObject({ status: 'degraded', etcd: { reachable: false, error: 'ETCD_UNAVAILABLE' } });
      const held = h.services.find((s) => s.service === SERVICE);
      expect(held, lane.mode).toMatchObject({ instances: 2, watched: lane.mode === 'watch' });
      expect(held!.ageMs, lane.mode).toBeGreaterThanOrEqual(downFor - NOTICE_SLACK_MS);
      if (lane.mode === 'watch') expect(held!.watchDownForMs).toBeGreaterThanOrEqual(downFor - NOTICE_SLACK_MS);
      // Served past their freshness because etcd failed, not merely stale-while-revalidate.
      expect(h.cache.staleIfErrorServes, lane.mode).toBeGreaterThan(0);
    });
    expect(during[1]!.cache.refreshFailures).toBeGreaterThan(0);
    await sleepUntil(downAt + OUTAGE_MS);

    await member.start();
    const backAt = Date.now();
    await Promise.all([registry.add(SERVICE, c.url), registry.remove(SERVICE, b.url)]);
    const [cRouted, bRemoved] = await Promise.all([routedTo(lanes, c, backAt), removedFrom(lanes, b, backAt)]);
    const after = await Promise.all(lanes.map(health));

    const reports: LoadReport[] = [];
    for (const lane of lanes) reports.push(await lane.loop.stop());
    lanes.forEach((lane, i) => expect(reports[i]!.failed, `${lane.mode}: ${JSON.stringify(reports[i]!.failures)}`).toBe(0));
    for (const ms of [...cRouted, ...bRemoved]) expect(ms).toBeLessThanOrEqual(PICKUP_BOUND_MS);
    for (const h of after) expect(h).toMatchObject({ status: 'ok', etcd: { reachable: true } });
    expect(after[0]!.cache.refreshes).toBe(watchReads);

    const total = reports.reduce((sum, r) => sum + r.sent, 0);
    const ages = during.map((h) => h.services.find((s) => s.service === SERVICE)!.ageMs);
    const row = {
      id: 2,
      scenario: 'etcd fully down',
      load: `2 gateways (watch, cache ${CACHE_TTL_MS} ms TTL) × 2 clients, GET, ${n(total)} requests over ${seconds(Math.max(...reports.map((r) => r.durationMs)))}`,
      fault: `single etcd SIGKILL for ${seconds(OUTAGE_MS)}, restarted on the same data dir`,
      failures: lanes.map((l, i) => `${failureSummary(reports[i]!)} (${l.mode})`).join('; '),
      lost: 'nothing',
      figures:
        `unknown service during the outage: 503 ETCD_UNAVAILABLE; health during the outage: degraded, snapshot age ${perMode(ages)}; ` +
        `after etcd returned, instance added routed ${perMode(cRouted)} and instance removed last used ${perMode(bRemoved)} after it answered; ` +
        `watch resumed without a re-read; p99 ${reports.map((r, i) => `${r.latencyMs.p99} ms (${lanes[i]!.mode})`).join(', ')}`,
    };
    record(row);
  }, TIMEOUT);
});

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
