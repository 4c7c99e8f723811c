/**
 * A Worker that exercises the etcd client inside workerd against a real etcd:
 * the Web-standards-only promise of src/etcd/, checked in the runtime itself.
 */
import { compare, EtcdClient, EtcdLeaseNotFoundError, op, utf8 } from '../../src/index.js';

interface Env {
  ETCD_ENDPOINTS: string;
}

async function probe(etcd: EtcdClient, p: string): Promise<Record<string, unknown>> {
  const start = (await etcd.put(`${p}a`, '1')).header.revision;
  const created = await etcd.txn({ compare: [compare.createRevision(`${p}b`, '=', 0)], success: [op.put(`${p}b`, '2')] });
  const lease = await etcd.leaseGrant(30);
  await etcd.put(`${p}c`, new Uint8Array([0xff, 0x00, 0x7f]), { lease: lease.id });
  const beat = await etcd.leaseKeepAlive(lease.id);
  const { kvs } = await etcd.range({ prefix: p }, { pageSize: 2 });
  const controller = new AbortController();
  const watched: string[] = [];
  setTimeout(() => void etcd.leaseRevoke(lease.id), 50);
  for await (const batch of etcd.watch({ prefix: p }, { startRevision: start, signal: controller.signal })) {
    for (const e of batch.events) watched.push(`${e.type} ${utf8(e.kv.key).slice(p.length)}`);
    if (watched.length >= 4) controller.abort();
  }
  const gone = await etcd.leaseKeepAlive(lease.id).catch((e: unknown) => e);
  return {
    created: created.succeeded,
    leaseIdIsString: typeof lease.id === 'string',
    beatTtl: beat.ttl,
    keys: kvs.map((kv) => utf8(kv.key).slice(p.length)),
    rawValue: [...kvs[2]!.value],
    watched,
    goneCode: gone instanceof EtcdLeaseNotFoundError ? gone.code : String(gone),
  };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const prefix = new URL(request.url).searchParams.get('prefix') ?? 'workerd/';
    const etcd = new EtcdClient({ endpoints: env.ETCD_ENDPOINTS.split(',') });
    try {
      return Response.json(await probe(etcd, prefix));
    } catch (error) {
      return Response.json({ error: String(error), code: (error as { code?: string }).code }, { status: 500 });
    }
  },
};
