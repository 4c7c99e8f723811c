import { compare, EtcdLeaseNotFoundError, op, type CallOptions, type EtcdClient } from '../etcd/index.js';
import { RegistrationConflictError } from './errors.js';

/**
 * Puts `key` under `lease` if it is absent, or held by one of our earlier
 * leases (`ours`). A write whose outcome was unknown can be repeated: finding
 * the key under `lease` already means it landed. Returns the revision of the key.
 * @throws {RegistrationConflictError} when another lease (or none) holds the key
 */
export async function claimKey(
  etcd: EtcdClient,
  key: string,
  value: string,
  lease: string,
  ours: readonly string[],
  call: CallOptions,
  tries = 3,
): Promise<number> {
  if (tries === 0) throw new Error(`${key} kept changing while it was being registered`);
  const first = await etcd.txn(
    { compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, value, { lease })], failure: [op.range(key)] },
    call,
  );
  if (first.succeeded) return first.header.revision;
  const current = first.responses[0]?.type === 'range' ? first.responses[0].kvs[0] : undefined;
  if (current === undefined) return claimKey(etcd, key, value, lease, ours, call, tries - 1);
  if (current.lease === lease) return current.modRevision;
  if (!ours.includes(current.lease)) throw new RegistrationConflictError(key, current.lease);
  const moved = await etcd.txn({ compare: [compare.lease(key, '=', current.lease)], success: [op.put(key, value, { lease })] }, call);
  if (!moved.succeeded) return claimKey(etcd, key, value, lease, ours, call, tries - 1);
  return moved.header.revision;
}

/** Rewrites the value of a key we hold under `lease`; false when we no longer hold it. */
export async function rewriteKey(etcd: EtcdClient, key: string, value: string, lease: string): Promise<boolean> {
  const r = await etcd.txn({ compare: [compare.lease(key, '=', lease)], success: [op.put(key, value, { lease })] });
  return r.succeeded;
}

/**
 * Deletes the key if `lease` still holds it, then revokes the lease (already
 * gone is fine). The revoke is tried even when the delete failed: it removes
 * the key too.
 */
export async function releaseKey(etcd: EtcdClient, key: string, lease: string): Promise<void> {
  const deleted = etcd.txn({ compare: [compare.lease(key, '=', lease)], success: [op.delete(key)] }).then(
    () => undefined,
    (error: unknown) => error,
  );
  const deleteError = await deleted;
  try {
    await revokeQuietly(etcd, lease);
  } catch (error) {
    throw deleteError ?? error;
  }
}

export async function revokeQuietly(etcd: EtcdClient, lease: string, call: CallOptions = {}): Promise<void> {
  try {
    await etcd.leaseRevoke(lease, call);
  } catch (error) {
    if (!(error instanceof EtcdLeaseNotFoundError)) throw error;
  }
}
