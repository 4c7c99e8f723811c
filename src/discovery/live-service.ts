import type { WatchEvent } from '../etcd/index.js';
import { decodeRecord, printableKey, type Decoded, type KeyLayout } from '../registry/index.js';
import type { Feed } from './feed.js';
import type { LoadedService } from './load.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';

interface Pending {
  layout: number;
  events: readonly WatchEvent[];
  revision: number;
}

/**
 * A watched service: its records, kept current by feed events. Events that
 * arrive while the first read is in flight are held, then applied if newer
 * than what the read saw, so none is lost or applied twice.
 */
export class LiveService {
  readonly service: string;
  /** Per layout, the feed it reads; undefined for a layout that cannot hold the service. */
  readonly feeds: (Feed | undefined)[] = [];
  /** Settles when the first read has been applied. */
  ready: Promise<Snapshot> | undefined;
  /** Its feed was lost (compaction, permanent error): it stopped being tracked and must be read again. */
  lost = false;
  #layouts: readonly KeyLayout[];
  #records = new Map<string, Decoded>();
  /** Per layout: changes at or below this revision are already in `#records`. */
  #floors: number[] = [];
  #pending: Pending[] | undefined = [];
  #revision = 0;
  #snapshot: Snapshot | undefined;

  constructor(service: string, layouts: readonly KeyLayout[]) {
    this.service = service;
    this.#layouts = layouts;
  }

  get loaded(): boolean {
    return this.#pending === undefined;
  }

  /** When the oldest of its feeds broke, if any is down. */
  get brokenSince(): number | undefined {
    let since: number | undefined;
    for (const feed of this.feeds) {
      const broken = feed?.brokenSince;
      if (broken !== undefined && (since === undefined || broken < since)) since = broken;
    }
    return since;
  }

  load(loaded: LoadedService, now: number): Snapshot {
    this.#records = loaded.records;
    this.#floors = loaded.revisions;
    this.#revision = loaded.revision;
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const p of pending) this.apply(p.layout, p.events, p.revision);
    return this.snapshot(now);
  }

  apply(layout: number, events: readonly WatchEvent[], revision: number): void {
    if (this.#pending) {
      this.#pending.push({ layout, events, revision });
      return;
    }
    const floor = this.#floors[layout] ?? 0;
    for (const event of events) {
      if (event.kv.modRevision <= floor) continue;
      if (event.type === 'delete') {
        this.#records.delete(printableKey(event.kv.key));
      } else {
        const decoded = decodeRecord(this.#layouts[layout]!, event.kv);
        if (decoded) this.#records.set(decoded.ok ? decoded.instance.key : decoded.skipped.key, decoded);
      }
    }
    if (revision > this.#revision) this.#revision = revision;
    if (events.length > 0) this.#snapshot = undefined;
  }

  /** The current snapshot, rebuilt only after a change. */
  snapshot(now: number): Snapshot {
    this.#snapshot ??= buildSnapshot(this.service, this.#records.values(), this.#revision, now);
    return this.#snapshot;
  }

  /** The snapshot as last built; undefined after a change, until `snapshot` builds the next. */
  get built(): Snapshot | undefined {
    return this.#snapshot;
  }
}
