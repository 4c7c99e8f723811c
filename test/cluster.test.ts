import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdUnavailableError, utf8 } from '../src/index.js';
import { startEtcd, type EtcdCluster, type EtcdMember } from './support/etcd-server.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startEtcd({ size: 3 });
});

afterAll(async () => {
  await cluster?.close();
});

async function leader(): Promise<EtcdMember> {
  for (const member of cluster.members.filter((m) => m.running)) {
    const res = await fetch(`${member.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const status = (await res.json()) as { header: { member_id: string }; leader: string };
    if (status.leader === status.header.member_id) return member;
  }
  throw new Error('no leader');
}

describe('3-member cluster', () => {
  it('keeps serving reads and writes through failover while the leader is killed and restarted', async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints, timeoutMs: 2_000, endpointCooldownMs: 1_000 });
    await etcd.put('cluster/k', 'before');
    const killed = await leader();
    await killed.stop('SIGKILL');
    let unknownOutcomes = 0;
    // Putting the same value again is harmless, so a write whose outcome is
    // unknown (etcd timed out while electing a leader) is simply repeated.
    const put = async (value: string): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await etcd.put('cluster/k', value);
          return;
        } catch (error) {
          if (!(error instanceof EtcdUnavailableError) || attempt >= 20) throw error;
          if (error.outcomeUnknown) unknownOutcomes += 1;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const written: string[] = [];
    for (let i = 0; i < 20; i++) {
      await put(`during-${i}`);
      written.push(`during-${i}`);
    }
    expect(utf8((await etcd.range('cluster/k')).kvs[0]!.value)).toBe('during-19');
    await killed.start();
    const direct = new EtcdClient({ endpoints: [killed.endpoint] });
    let seen = '';
    for (let i = 0; i < 100 && seen !== 'during-19'; i++) {
      seen = utf8((await direct.range('cluster/k')).kvs[0]?.value ?? new Uint8Array());
      if (seen !== 'during-19') await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe('during-19');
    expect(written).toHaveLength(20);
    expect(unknownOutcomes).toBeLessThan(20);
  }, 40_000);

  it('a watch on a member that lost quorum hears "no leader" and resumes once the cluster heals', async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints, timeoutMs: 1_000, endpointCooldownMs: 500 });
    const start = (await etcd.put('cluster/w', 'before')).header.revision;
    const retries: string[] = [];
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      const watch = etcd.watch('cluster/w', {
        startRevision: start,
        signal: controller.signal,
        backoff: { initialMs: 50, maxMs: 300 },
        onRetry: (error) => retries.push(String((error as Error).message)),
      });
      for await (const batch of watch) for (const e of batch.events) seen.push(utf8(e.kv.value));
    })();
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['before']);
    const [a, b] = cluster.members;
    await Promise.all([a!.stop('SIGKILL'), b!.stop('SIGKILL')]);
    await expect.poll(() => retries.some((m) => m.includes('no leader')), { timeout: 15_000 }).toBe(true);
    await Promise.all([a!.start(), b!.start()]);
    const writer = new EtcdClient({ endpoints: cluster.endpoints });
    await expect.poll(() => writer.put('cluster/w', 'after').then(() => true, () => false), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe('after');
    expect(seen.filter((v) => v === 'before')).toHaveLength(1);
    controller.abort();
    await watching;
  }, 60_000);
});
