import type { EtcdClient, WatchEvent } from '../etcd/index.js';
import { printableKey, servesService, type KeyLayout } from '../registry/index.js';
import { Feed } from './feed.js';
import { LiveService } from './live-service.js';
import { loadService, type LoadedService } from './load.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';

export interface WatchHubOptions {
  pageSize: number;
  now: () => number;
  /** A watch stream silent for this long is reopened (ms). */
  silenceMs: number;
  /** A service's feed was lost (compaction, permanent error); it is no longer tracked and should be tracked again. */
  onLost: (service: string, error: unknown) => void;
  /** A service's records changed (its snapshot is built on the next look). */
  onChange?: (service: string) => void;
}

/**
 * Keeps watched services current with as few etcd watches as possible: one
 * per layout over its common prefix when it has one (every service shares it),
 * else one per service, like etcd's gRPC proxy coalesces watchers. Reads each
 * service once when first tracked; after that, steady state makes no range calls.
 */
export class WatchHub {
  readonly #etcd: EtcdClient;
  readonly #layouts: readonly KeyLayout[];
  readonly #options: WatchHubOptions;
  readonly #feeds = new Map<string, Feed>();
  readonly #live = new Map<string, LiveService>();
  #closed = false;

  constructor(etcd: EtcdClient, layouts: readonly KeyLayout[], options: WatchHubOptions) {
    this.#etcd = etcd;
    this.#layouts = layouts;
    this.#options = options;
  }

  /** Open etcd watches. */
  get feedCount(): number {
    return this.#feeds.size;
  }

  /** The tracked, loaded state of a service, if any. */
  live(service: string): LiveService | undefined {
    const live = this.#live.get(service);
    return live?.loaded ? live : undefined;
  }

  /**
   * Starts keeping `service` current; resolves with its first snapshot.
   * Concurrent calls share one read. After `close()` it only reads.
   */
  track(service: string): Promise<Snapshot> {
    const existing = this.#live.get(service);
    if (existing?.ready) return existing.ready;
    if (this.#closed) return this.#readOnce(service);
    const live = new LiveService(service, this.#layouts);
    this.#live.set(service, live);
    this.#layouts.forEach((layout, i) => {
      const feed = servesService(layout, service, this.#layouts) ? this.#feedFor(layout, i, service) : undefined;
      feed?.services.add(service);
      live.feeds.push(feed);
    });
    live.ready = this.#load(live).catch((error: unknown) => {
      this.#untrack(live);
      throw error;
    });
    return live.ready;
  }

  untrack(service: string): void {
    const live = this.#live.get(service);
    if (live) this.#untrack(live);
  }

  /** Stops every watch; later lookups are single reads. */
  close(): void {
    this.#closed = true;
    for (const feed of this.#feeds.values()) feed.stop();
    this.#feeds.clear();
    this.#live.clear();
  }

  #untrack(live: LiveService): void {
    if (this.#live.get(live.service) !== live) return;
    this.#live.delete(live.service);
    for (const feed of live.feeds) {
      feed?.services.delete(live.service);
      if (feed?.services.size === 0) this.#drop(feed);
    }
  }

  async #load(live: LiveService): Promise<Snapshot> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await loadService(this.#etcd, this.#layouts, live.service, { pageSize: this.#options.pageSize });
      if (this.#live.get(live.service) !== live) {
        // Its feed was lost during the read: track it again, or it would be left unwatched with this read.
        if (live.lost && !this.#closed) return this.track(live.service);
        // Untracked meanwhile (closed, evicted): the read is still a good answer.
        return this.#snapshotOf(live.service, loaded);
      }
      live.feeds.forEach((feed, i) => feed?.start(loaded.revisions[i]! + 1));
      // A feed started by another service after this read would miss the changes in between: read again.
      if (live.feeds.every((feed, i) => feed === undefined || feed.startRevision! <= loaded.revisions[i]! + 1)) {
        return live.load(loaded, this.#options.now());
      }
      if (attempt === 3) {
        this.#untrack(live);
        return this.#snapshotOf(live.service, loaded);
      }
    }
  }

  async #readOnce(service: string): Promise<Snapshot> {
    return this.#snapshotOf(service, await loadService(this.#etcd, this.#layouts, service, { pageSize: this.#options.pageSize }));
  }

  #snapshotOf(service: string, loaded: LoadedService): Snapshot {
    return buildSnapshot(service, loaded.records.values(), loaded.revision, this.#options.now());
  }

  #feedFor(layout: KeyLayout, index: number, service: string): Feed {
    const prefix = layout.root ?? layout.servicePrefix(service);
    const id = `${index}\u0000${prefix}`;
    let feed = this.#feeds.get(id);
    if (!feed) {
      const created: Feed = new Feed(this.#etcd, id, prefix, {
        onBatch: (events, revision) => this.#dispatch(layout, index, events, revision, created),
        onLost: (error) => this.#lose(created, error),
      }, this.#options);
      feed = created;
      this.#feeds.set(id, feed);
    }
    return feed;
  }

  #dispatch(layout: KeyLayout, index: number, events: readonly WatchEvent[], revision: number, feed: Feed): void {
    const byService = new Map<LiveService, WatchEvent[]>();
    for (const event of events) {
      const names = layout.parseKey(printableKey(event.kv.key));
      const live = names && feed.services.has(names.service) ? this.#live.get(names.service) : undefined;
      if (!live) continue;
      const list = byService.get(live);
      if (list) list.push(event);
      else byService.set(live, [event]);
    }
    for (const [live, list] of byService) {
      live.apply(index, list, revision);
      this.#options.onChange?.(live.service);
    }
  }

  #lose(feed: Feed, error: unknown): void {
    this.#drop(feed);
    for (const service of [...feed.services]) {
      const live = this.#live.get(service);
      if (live) live.lost = true;
      this.untrack(service);
      this.#options.onLost(service, error);
    }
  }

  #drop(feed: Feed): void {
    feed.stop();
    if (this.#feeds.get(feed.id) === feed) this.#feeds.delete(feed.id);
  }
}
