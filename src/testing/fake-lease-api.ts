import type { FakeBody } from './fake-body.js';
import type { FakeLeases } from './fake-leases.js';
import { FakeStoreError, type FakeStore } from './fake-store.js';
import { bytesToB64, latin1Bytes } from './fake-wire.js';

type Json = Record<string, unknown>;

/** The fake's `/v3/lease/*` operations. */
export class FakeLeaseApi {
  constructor(
    private readonly leases: FakeLeases,
    private readonly store: FakeStore,
  ) {}

  grant(b: FakeBody): Json {
    const lease = this.leases.grant(b.int('TTL'), b.id('ID'));
    if (lease === 'exists') throw new FakeStoreError(9, 'etcdserver: lease already exists');
    return { ID: lease.id, TTL: String(lease.grantedTtl) };
  }

  revoke(b: FakeBody): Json {
    const lease = this.leases.remove(b.id('ID'));
    if (!lease) throw new FakeStoreError(5, 'etcdserver: requested lease not found');
    this.store.write(() => [...lease.keys].forEach((key) => this.store.delete(key, undefined)));
    return {};
  }

  /** etcd answers a keepalive for a missing lease without a TTL. */
  keepAlive(b: FakeBody): Json {
    const id = b.id('ID');
    const lease = this.leases.get(id);
    if (!lease) return { ID: id };
    this.leases.renew(lease);
    return { ID: id, TTL: String(lease.grantedTtl) };
  }

  timeToLive(b: FakeBody): Json {
    const id = b.id('ID');
    const lease = this.leases.get(id);
    if (!lease) return { ID: id, TTL: '-1' };
    const keys = b.flag('keys') ? [...lease.keys].map((k) => bytesToB64(latin1Bytes(k))) : [];
    return { ID: id, TTL: String(this.leases.remaining(lease)), grantedTTL: String(lease.grantedTtl), ...(keys.length > 0 ? { keys } : {}) };
  }

  list(): Json {
    const ids = this.leases.ids();
    return ids.length > 0 ? { leases: ids.map((ID) => ({ ID })) } : {};
  }
}
