import type { EtcdClient } from '../etcd/index.js';
import type { KeyLayout } from '../registry/index.js';
import { loadService } from './load.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';
import type { Tracker } from './tracker.js';

/**
 * Where the resolver reads a service's snapshot from: etcd itself (the
 * default) or a snapshot relay. A read given the previous snapshot returns
 * that same object, or one sharing its instance list, when nothing changed, so
 * whatever callers built from the list (selection tables) is kept.
 */
export interface SnapshotSource {
  /**
   * The service as it is now.
   * @throws {EtcdError | RelayError} when the source cannot be read
   */
  read(service: string, previous: Snapshot | undefined): Promise<Snapshot>;
  /** The longest one read can take with its failover (ms): a shared read is given up after it. */
  readonly callBoundMs: number | undefined;
  /** Watch mode over this source (a relay's long-polls); without it, watch mode reads etcd. */
  tracker?(options: { now: () => number; onChange?: (service: string) => void }): Tracker;
  /** What `/_edge/health` shows of a source in front of etcd or the relay (the Workers snapshot hub). */
  health?(): SourceHealth;
}

/** A source's own part of `/_edge/health`: shown under `section`; `ok: false` makes the status `degraded`. */
export interface SourceHealth {
  section: string;
  ok: boolean;
  fields: Readonly<Record<string, unknown>>;
}

export interface EtcdSourceOptions {
  layouts: readonly KeyLayout[];
  pageSize: number;
  now: () => number;
}

/**
 * Reads services straight from etcd: one range per layout.
 *
 * @example
 * const source = etcdSource(etcd, { layouts: [nativeLayout()], pageSize: 1_000, now: Date.now });
 */
export function etcdSource(etcd: EtcdClient, options: EtcdSourceOptions): SnapshotSource {
  const { layouts, pageSize, now } = options;
  return {
    get callBoundMs() {
      return etcd.callBoundMs;
    },
    async read(service, previous) {
      const loaded = await loadService(etcd, layouts, service, { pageSize, previous });
      // Nothing changed: keep the instance list (and whatever callers built from it).
      if (previous && previous.skipped.length === 0 && loaded.reused === previous.instances.length && loaded.records.size === loaded.reused) {
        return Object.freeze({ ...previous, revision: loaded.revision, fetchedAt: now() });
      }
      return buildSnapshot(service, loaded.records.values(), loaded.revision, now());
    },
  };
}
