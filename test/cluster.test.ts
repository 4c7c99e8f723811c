import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, utf8 } from '../src/index.js';
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
    const written: string[] = [];
    for (let i = 0; i < 20; i++) {
      await etcd.put('cluster/k', `during-${i}`);
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
  }, 40_000);
});
