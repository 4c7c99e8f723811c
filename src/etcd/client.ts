import type { Bytes } from './bytes.js';
import * as kv from './kv.js';
import * as lease from './lease.js';
import { Transport, type TransportOptions } from './transport.js';
import { txn, type TxnRequest, type TxnResult } from './txn.js';
import type {
  CallOptions,
  DeleteOptions,
  DeleteResult,
  KeyRange,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  ResponseHeader,
  WatchBatch,
  WatchOptions,
} from './types.js';
import { watch } from './watch.js';

export type EtcdClientOptions = TransportOptions;

/**
 * A client of etcd's JSON gateway (3.4–3.6), built on `fetch` alone.
 *
 * @example
 * const etcd = new EtcdClient({ endpoints: ['http://127.0.0.1:2379'] });
 * const { id } = await etcd.leaseGrant(10);
 * await etcd.put('services/orders/a', '{"Addr":"http://10.0.0.5:8080"}', { lease: id });
 * const { kvs } = await etcd.range({ prefix: 'services/orders/' });
 */
export class EtcdClient {
  #transport: Transport;

  constructor(options: EtcdClientOptions) {
    this.#transport = new Transport(options);
  }

  /** The longest one call can take with its failover across endpoints (ms): what a caller sharing another's call waits at most. */
  get callBoundMs(): number {
    return this.#transport.callBoundMs;
  }

  /** The endpoint URLs, normalized. */
  get endpoints(): readonly string[] {
    return this.#transport.pool.urls;
  }

  range(keys: KeyRange, options?: RangeOptions): Promise<RangeResult> {
    return kv.range(this.#transport, keys, options);
  }

  put(key: Bytes, value: Bytes, options?: PutOptions): Promise<PutResult> {
    return kv.put(this.#transport, key, value, options);
  }

  delete(keys: KeyRange, options?: DeleteOptions): Promise<DeleteResult> {
    return kv.deleteRange(this.#transport, keys, options);
  }

  txn(request: TxnRequest, options?: CallOptions): Promise<TxnResult> {
    return txn(this.#transport, request, options);
  }

  /** Compacts history up to `revision` (`physical`: wait until it is removed from disk). */
  compact(revision: number, options?: CallOptions & { physical?: boolean }): Promise<{ header: ResponseHeader }> {
    return kv.compact(this.#transport, revision, options);
  }

  /** Grants a lease of `ttlSeconds`; its `id` is a decimal string. */
  leaseGrant(ttlSeconds: number, options?: CallOptions & { id?: string }): Promise<lease.LeaseGrant> {
    return lease.grant(this.#transport, ttlSeconds, options);
  }

  /** One keepalive beat; throws `EtcdLeaseNotFoundError` when the lease is gone. */
  leaseKeepAlive(id: string, options?: CallOptions): Promise<lease.LeaseKeepAlive> {
    return lease.keepAlive(this.#transport, id, options);
  }

  leaseRevoke(id: string, options?: CallOptions): Promise<{ header: ResponseHeader }> {
    return lease.revoke(this.#transport, id, options);
  }

  leaseTimeToLive(id: string, options?: CallOptions & { keys?: boolean }): Promise<lease.LeaseTimeToLive> {
    return lease.timeToLive(this.#transport, id, options);
  }

  leaseList(options?: CallOptions): Promise<{ header: ResponseHeader; ids: string[] }> {
    return lease.leases(this.#transport, options);
  }

  /** Watches a key or range; see `WatchOptions`. */
  watch(keys: KeyRange, options?: WatchOptions): AsyncGenerator<WatchBatch> {
    return watch(this.#transport, keys, options);
  }
}
