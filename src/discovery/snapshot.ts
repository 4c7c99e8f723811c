import type { Decoded, Instance, SkippedRecord } from '../registry/index.js';

/**
 * What the registry said about one service at one revision. Immutable: built
 * once per change, shared by every request that reads it.
 */
export interface Snapshot {
  readonly service: string;
  /** Live instances, ordered by key. */
  readonly instances: readonly Instance[];
  /** Records under the service's keys that did not decode, with reasons. */
  readonly skipped: readonly SkippedRecord[];
  /** The etcd revision of the read or watch event it was built from. */
  readonly revision: number;
  /**
   * When it was built (ms since the epoch): from a read, or in watch mode from
   * the last change. `Resolver.status()` tells when it was last known current.
   */
  readonly fetchedAt: number;
  /**
   * Set by a source that answered from data it could not confirm current (a
   * snapshot relay cut off from etcd): when that data was last known to match
   * etcd (ms since the epoch). The resolver counts stale-if-error from it.
   */
  readonly staleSince?: number;
}

/** Freezes decoded records into a snapshot, instances in key order. */
export function buildSnapshot(service: string, records: Iterable<Decoded>, revision: number, fetchedAt: number): Snapshot {
  const instances: Instance[] = [];
  const skipped: SkippedRecord[] = [];
  for (const record of records) {
    if (record.ok) instances.push(record.instance);
    else skipped.push(record.skipped);
  }
  instances.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return Object.freeze({ service, instances: Object.freeze(instances), skipped: Object.freeze(skipped), revision, fetchedAt });
}
