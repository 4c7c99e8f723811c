/**
 * The fake's multi-version key-value store: every write makes a revision,
 * old versions stay readable until compacted, and each revision's changes are
 * kept for watchers that start in the past. Keys are held as latin1 strings
 * (one char per byte), whose ordering is etcd's byte ordering.
 */
export interface StoredKv {
  key: string;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export interface StoreEvent {
  type: 'put' | 'delete';
  kv: StoredKv;
  prevKv: StoredKv | undefined;
}

interface Version {
  revision: number;
  kv: StoredKv | undefined;
}

export class FakeStoreError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class FakeStore {
  revision = 1;
  compactRevision = 0;
  #history = new Map<string, Version[]>();
  #sortedKeys: string[] = [];
  #changes: { revision: number; events: StoreEvent[] }[] = [];
  #pending: StoreEvent[] | undefined;

  /** Live keys in `[key, end)` (or just `key` when `end` is undefined) at `revision` (0 = now). */
  range(key: string, end: string | undefined, revision = 0): StoredKv[] {
    // Inside a txn, reads see the txn's own earlier writes.
    const at = revision > 0 ? revision : this.#pending ? this.revision + 1 : this.revision;
    if (revision > this.revision) throw new FakeStoreError(11, 'etcdserver: mvcc: required revision is a future revision');
    if (revision > 0 && revision < this.compactRevision) {
      throw new FakeStoreError(11, 'etcdserver: mvcc: required revision has been compacted');
    }
    const out: StoredKv[] = [];
    for (const k of this.#keysIn(key, end)) {
      const kv = this.#at(k, at);
      if (kv) out.push(kv);
    }
    return out;
  }

  /** Groups the writes of `body` under one revision (a txn is one revision). */
  write<T>(body: () => T): T {
    const outer = this.#pending === undefined;
    if (outer) this.#pending = [];
    let result: T;
    try {
      result = body();
    } catch (error) {
      if (outer) this.#rollback();
      throw error;
    }
    if (outer) this.#commit();
    return result;
  }

  put(key: string, value: Uint8Array, lease: string): StoreEvent {
    return this.write(() => {
      const prev = this.#at(key, this.revision);
      const rev = this.revision + 1;
      const kv: StoredKv = {
        key,
        value,
        createRevision: prev?.createRevision ?? rev,
        modRevision: rev,
        version: (prev?.version ?? 0) + 1,
        lease,
      };
      return this.#record(key, kv, { type: 'put', kv, prevKv: prev });
    });
  }

  delete(key: string, end: string | undefined): StoreEvent[] {
    return this.write(() =>
      this.range(key, end).map((prev) => {
        const kv: StoredKv = { ...prev, value: new Uint8Array(0), modRevision: this.revision + 1, createRevision: 0, version: 0, lease: '0' };
        return this.#record(prev.key, undefined, { type: 'delete', kv, prevKv: prev });
      }),
    );
  }

  /** Changes with revision >= `from`, grouped by revision. */
  changesSince(from: number): { revision: number; events: StoreEvent[] }[] {
    return this.#changes.filter((c) => c.revision >= from);
  }

  compact(revision: number): void {
    if (revision <= this.compactRevision) throw new FakeStoreError(11, 'etcdserver: mvcc: required revision has been compacted');
    if (revision > this.revision) throw new FakeStoreError(11, 'etcdserver: mvcc: required revision is a future revision');
    this.compactRevision = revision;
    // Like etcd, keep the compaction revision's puts but not its deletes: a
    // watch from exactly `revision` is accepted and no longer sees them.
    this.#changes = this.#changes
      .filter((c) => c.revision >= revision)
      .map((c) => (c.revision === revision ? { ...c, events: c.events.filter((e) => e.type !== 'delete') } : c));
    for (const [key, versions] of this.#history) {
      const keepFrom = versions.findLastIndex((v) => v.revision <= revision);
      const kept = keepFrom < 0 ? versions : versions.slice(keepFrom);
      if (kept.length === 1 && kept[0]!.kv === undefined) this.#forget(key);
      else this.#history.set(key, kept);
    }
  }

  /** Called after each committed revision with its events. */
  onCommit: (revision: number, events: StoreEvent[]) => void = () => undefined;

  #record(key: string, kv: StoredKv | undefined, event: StoreEvent): StoreEvent {
    let versions = this.#history.get(key);
    if (!versions) {
      versions = [];
      this.#history.set(key, versions);
      this.#sortedKeys.splice(this.#insertionPoint(key), 0, key);
    }
    const rev = this.revision + 1;
    const last = versions[versions.length - 1];
    if (last?.revision === rev) last.kv = kv;
    else versions.push({ revision: rev, kv });
    this.#pending!.push(event);
    return event;
  }

  #commit(): void {
    const events = this.#pending!;
    this.#pending = undefined;
    if (events.length === 0) return;
    this.revision += 1;
    this.#changes.push({ revision: this.revision, events });
    this.onCommit(this.revision, events);
  }

  /** Drops the versions written at the pending revision, as if the writes never happened. */
  #rollback(): void {
    const rev = this.revision + 1;
    for (const event of this.#pending!) {
      const versions = this.#history.get(event.kv.key);
      if (versions?.[versions.length - 1]?.revision === rev) versions.pop();
      if (versions?.length === 0) this.#forget(event.kv.key);
    }
    this.#pending = undefined;
  }

  #at(key: string, revision: number): StoredKv | undefined {
    const versions = this.#history.get(key);
    if (!versions) return undefined;
    for (let i = versions.length - 1; i >= 0; i--) {
      if (versions[i]!.revision <= revision) return versions[i]!.kv;
    }
    return undefined;
  }

  *#keysIn(key: string, end: string | undefined): Iterable<string> {
    if (end === undefined) {
      if (this.#history.has(key)) yield key;
      return;
    }
    const unbounded = end === '\0';
    for (let i = this.#insertionPoint(key); i < this.#sortedKeys.length; i++) {
      const k = this.#sortedKeys[i]!;
      if (!unbounded && k >= end) return;
      yield k;
    }
  }

  #insertionPoint(key: string): number {
    let lo = 0;
    let hi = this.#sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sortedKeys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #forget(key: string): void {
    this.#history.delete(key);
    const i = this.#insertionPoint(key);
    if (this.#sortedKeys[i] === key) this.#sortedKeys.splice(i, 1);
  }
}
