import type { Snapshot } from './snapshot.js';

/** A service kept current by a tracker (watch mode), as the resolver reads it. */
export interface Tracked {
  /** Since when what keeps it current has been down (or its source stale), while it is. */
  readonly brokenSince: number | undefined;
  /** The snapshot as last built, if it is built. */
  readonly built: Snapshot | undefined;
  /** The current snapshot, built if needed. */
  snapshot(now: number): Snapshot;
}

/**
 * What keeps services current in watch mode: etcd watches (`WatchHub`) or
 * long-polls to a snapshot relay (`RelayWatch`). The resolver tracks a
 * service on its first read and serves the tracked snapshot after that.
 */
export interface Tracker {
  /** Open watches or long-poll loops. */
  readonly feedCount: number;
  /** The tracked, loaded state of a service, if any. */
  live(service: string): Tracked | undefined;
  /** Starts keeping `service` current; resolves with its first snapshot; concurrent calls share one read. */
  track(service: string): Promise<Snapshot>;
  untrack(service: string): void;
  /** Stops everything; later tracks are single reads. */
  close(): void;
}
