import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backends, type Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster, type EtcdMember } from '../support/etcd-server.js';
import { ADMIN_TOKEN } from '../support/gateway-scenarios.js';
import { until } from '../support/until.js';
import { failureSummary, type LoadReport } from './support/load.js';
import { n, record, scale } from './support/mode.js';
import { closeLanes, Registry, removedFrom, routedTo, startLanes, timesPerMode, type Lane } from './support/routing.js';

/**
 * A 3-member etcd cluster loses its leader, then a follower (quorum gone),
 * then both come back, while two gateways (watch mode and cache mode) carry a
 * steady load. No client request may fail, and registration changes made
 * during the disruption and right at the heal must be routed promptly.
 */
const SERVICE = 'failover';
/** Cache mode's snapshot lifetime: the longest a cache-mode gateway may route by an old list. */
const CACHE_TTL_MS = 1_000;
const LEADER_DOWN_MS = scale(2_000, 20_000);
/** Longer than the etcd client's 5 s read timeout, so reads held by the member left alone fail and stale lists are served. */
const NO_QUORUM_MS = scale(6_000, 20_000);
/** The target: a change is routed within 2 s of the cluster healing. */
const HEAL_BOUND_MS = 2_000;
/** A removed instance counts as gone once it has been silent this long over this many answers. */
const TIMEOUT = scale(60_000, 300_000);

let cluster: EtcdCluster;
let registry: Registry;
const backends = new Backends();
let a: Backend;
let b: Backend;
let c: Backend;
let d: Backend;
const lanes: Lane[] = [];

beforeAll(async () => {
  cluster = await startEtcd({ size: 3 });
  registry = new Registry(cluster.endpoints);
  [a, b, c, d] = [await backends.start('a'), await backends.start('b'), await backends.start('c'), await backends.start('d')];
  for (const backend of [a, b]) await registry.add(SERVICE, backend.url);
  lanes.push(...(await startLanes(cluster.endpoints, SERVICE, CACHE_TTL_MS)));
}, 60_000);

afterAll(async () => {
  await closeLanes(lanes);
  await backends.closeAll();
  await cluster?.close();
}, 30_000);

interface Health {
  status: string;
  etcd: { reachable: boolean; error?: string };
  services: { service: string; instances: number; ageMs: number; watched: boolean; watchDownForMs?: number }[];
}

async function health(lane: Lane): Promise<Health> {
  const res = await fetch(`${lane.url}/_edge/health`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Health;
}

async function status(member: EtcdMember): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const res = await fetch(`${member.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    return body.header?.member_id && body.leader ? { memberId: body.header.member_id, leader: body.leader } : undefined;
  } catch {
    return undefined;
  }
}

/** The running member that is the leader, by its own status (`leader` == its member id), if any. */
async function leader(): Promise<EtcdMember | undefined> {
  for (const member of cluster.members.filter((m) => m.running)) {
    const s = await status(member);
    if (s && s.leader === s.memberId) return member;
  }
  return undefined;
}

/** Every member runs and all name the same leader, one of them. */
async function healed(): Promise<boolean> {
  const all = await Promise.all(cluster.members.map(status));
  const leaders = new Set(all.map((s) => s?.leader));
  return all.every((s) => s !== undefined) && leaders.size === 1 && all.some((s) => s!.leader === s!.memberId);
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;
const perMode = (times: number[]): string => timesPerMode(lanes, times);

describe('etcd cluster failover under load', () => {
  it('loses no request and routes changes made during the disruption within 2 s of the heal', async () => {
    await Promise.all(lanes.map((l) => l.loop.answers(50)));
    for (const lane of lanes) for (const backend of [a, b]) expect(lane.routes.last(backend.name), `${lane.mode} ${backend.name}`).toBeDefined();

    const killed = await leader();
    expect(killed, 'a leader before the fault').toBeDefined();
    const leaderKilledAt = Date.now();
    await killed!.stop('SIGKILL');
    await until(async () => (await leader()) !== undefined, 15_000);
    const electedMs = Date.now() - leaderKilledAt;

    // With the leader gone but quorum kept: add instance c.
    const addStarted = Date.now();
    await registry.add(SERVICE, c.url);
    const addRouted = await routedTo(lanes, c, addStarted);
    await sleepUntil(leaderKilledAt + LEADER_DOWN_MS);

    const follower = cluster.members.find((m) => m.running)!;
    const quorumLostAt = Date.now();
    await follower.stop('SIGKILL');
    // The health probe waits up to 2 s for a read the lone member holds.
    await sleepUntil(quorumLostAt + NO_QUORUM_MS - 2_500);
    const withoutQuorum = await Promise.all(lanes.map(health));
    await sleepUntil(quorumLostAt + NO_QUORUM_MS);
    const servedWithoutQuorum = lanes.map((l) => l.routes.answersSince(quorumLostAt));

    await Promise.all([killed!.start(), follower.start()]);
    await until(healed, 15_000);
    const healedAt = Date.now();
    // Right at the heal: add d and remove b.
    await Promise.all([registry.add(SERVICE, d.url), registry.remove(SERVICE, b.url)]);
    const [dRouted, bRemoved] = await Promise.all([routedTo(lanes, d, healedAt), removedFrom(lanes, b, healedAt)]);

    const reports: LoadReport[] = [];
    for (const lane of lanes) reports.push(await lane.loop.stop());
    lanes.forEach((lane, i) => expect(reports[i]!.failed, `${lane.mode}: ${JSON.stringify(reports[i]!.failures)}`).toBe(0));
    for (const count of servedWithoutQuorum) expect(count).toBeGreaterThan(0);
    lanes.forEach((lane, i) => {
      const h = withoutQuorum[i]!;
      expect(h, lane.mode).toMatchObject({ status: 'degraded', etcd: { reachable: false, error: expect.stringMatching(/^ETCD_(TIMEOUT|UNAVAILABLE)$/) } });
      const held = h.services.find((s) => s.service === SERVICE);
      expect(held, lane.mode).toMatchObject({ instances: 3, watched: lane.mode === 'watch' });
      if (lane.mode === 'watch') expect(held!.watchDownForMs, 'watch down without quorum').toBeGreaterThan(0);
    });
    for (const ms of [...dRouted, ...bRemoved]) expect(ms).toBeLessThanOrEqual(HEAL_BOUND_MS);
    // A change made while the leader was down is routed without waiting for the heal.
    for (const ms of addRouted) expect(ms).toBeLessThanOrEqual(CACHE_TTL_MS + HEAL_BOUND_MS);

    const total = reports.reduce((sum, r) => ({ sent: sum.sent + r.sent, failed: sum.failed + r.failed }), { sent: 0, failed: 0 });
    const row = {
      id: 1,
      scenario: 'etcd cluster failover',
      load: `2 gateways (watch, cache ${CACHE_TTL_MS} ms TTL) × 2 clients, GET, ${n(total.sent)} requests over ${seconds(Math.max(...reports.map((r) => r.durationMs)))}`,
      fault: `3-member cluster: leader SIGKILL (${seconds(LEADER_DOWN_MS)}), then a follower (no quorum, ${seconds(NO_QUORUM_MS)}); both restarted`,
      failures: lanes.map((l, i) => `${failureSummary(reports[i]!)} (${l.mode})`).join('; '),
      lost: 'nothing',
      figures:
        `new leader ${seconds(electedMs)} after the kill; ` +
        `instance added with the leader down routed ${perMode(addRouted)} after the write; ` +
        `health without quorum: degraded (${withoutQuorum[0]!.etcd.error}), list age ${perMode(withoutQuorum.map((h) => h.services.find((s) => s.service === SERVICE)!.ageMs))}; ` +
        `at the heal, instance added routed ${perMode(dRouted)} and instance removed last used ${perMode(bRemoved)} after the heal; ` +
        `p99 ${reports.map((r, i) => `${r.latencyMs.p99} ms (${lanes[i]!.mode})`).join(', ')}`,
    };
    record(row);
  }, TIMEOUT);
});

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
