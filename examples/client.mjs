// Registers an instance under a lease, reads it back, and watches it go away.
// Run against a local etcd: node examples/client.mjs (ETCD_ENDPOINTS overrides).
import { EtcdClient, compare, jsonBytes, op, parseJson, utf8 } from 'etcd-edge';

const etcd = new EtcdClient({
  endpoints: (process.env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  username: process.env.ETCD_USERNAME,
  password: process.env.ETCD_PASSWORD,
});

const key = 'services/orders/example-1';
const lease = await etcd.leaseGrant(10);

// Create the key only if nobody holds it: one transaction, no race.
const created = await etcd.txn({
  compare: [compare.createRevision(key, '=', 0)],
  success: [op.put(key, jsonBytes({ Op: 0, Addr: 'http://127.0.0.1:8080', Metadata: { weight: 5 } }), { lease: lease.id })],
});
console.log('registered:', created.succeeded, 'lease', lease.id);

const { kvs, header } = await etcd.range({ prefix: 'services/orders/' });
for (const kv of kvs) console.log(utf8(kv.key), parseJson(kv.value));

// Watch from the next revision; revoking the lease deletes the key.
const controller = new AbortController();
setTimeout(() => etcd.leaseRevoke(lease.id), 100);
for await (const batch of etcd.watch({ prefix: 'services/orders/' }, { startRevision: header.revision + 1, signal: controller.signal })) {
  for (const event of batch.events) console.log(event.type, utf8(event.kv.key));
  controller.abort();
}
