import { EtcdError } from '../etcd/index.js';
import { assertServiceName } from '../registry/index.js';
import { refreshTimeout, within } from './bound.js';
import { RelayError } from './errors.js';
import { Lru } from './lru.js';
import { resolveOptions, type ResolvedOptions, type ResolverOptions } from './resolver-options.js';
import type { Snapshot } from './snapshot.js';
import { etcdSource, type SnapshotSource } from './source.js';
import type { Tracker } from './tracker.js';
import { WatchHub } from './watch-hub.js';

/** Watch mode: how long a snapshot that no watch keeps current counts as fresh. */
const UNWATCHED_FRESH_MS = 1_000;

export interface ResolveOptions {
  /**
   * Keeps a read this lookup starts alive past the response (a Worker's
   * `ctx.waitUntil`), whether it waits for the read or not: other lookups may
   * be waiting on it.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export interface ResolverStats {
  /** Served fresh from memory. */
  hits: number;
  /** Had nothing to serve, waited for etcd. */
  misses: number;
  /** Served stale while a background refresh ran. */
  staleServes: number;
  /** Served stale because etcd was failing. */
  staleIfErrorServes: number;
  /** Reads of a service from etcd (each one range per layout). */
  refreshes: number;
  refreshFailures: number;
  /** Distinct records (key and reason) that did not decode, counted once each. */
  skippedRecords: number;
}

export interface ServiceStatus {
  snapshot: Snapshot;
  /** When the snapshot was last known to match etcd (ms since the epoch). */
  currentAt: number;
  /** Kept current by a watch (watch mode). */
  watched: boolean;
  /** Since when that watch has been down, while it is. */
  watchDownSince?: number;
}

interface Entry {
  snapshot: Snapshot | undefined;
  /** When the snapshot was last known to match etcd: its read, or the last look while its watch was up. */
  currentAt: number;
  /** The read in flight, shared by every lookup that needs it. */
  refreshing: Promise<Snapshot> | undefined;
  /** When that read started. */
  refreshStartedAt: number;
  failedAt: number | undefined;
  /** The error of the last failed read, answered again during `errorBackoffMs`. */
  lastError: unknown;
  lastUsed: number;
}

const MAX_REPORTED = 10_000;

/**
 * Answers "which instances does this service have?" from a snapshot cache:
 * fresh for `cacheTtlMs`, then stale-while-revalidate, and stale-if-error while
 * etcd is unreachable. Concurrent misses share one read. In watch mode,
 * snapshots are kept current by shared watches and no range is made in steady state.
 *
 * @example
 * const resolver = new Resolver({ etcd, layouts: [nativeLayout(), kitexLayout()] });
 * const { instances } = await resolver.resolve('orders');
 */
export class Resolver {
  readonly #o: ResolvedOptions;
  readonly #entries: Lru<string, Entry>;
  readonly #hub: Tracker | undefined;
  readonly #source: SnapshotSource;
  readonly #stats: ResolverStats = { hits: 0, misses: 0, staleServes: 0, staleIfErrorServes: 0, refreshes: 0, refreshFailures: 0, skippedRecords: 0 };
  readonly #reported = new Set<string>();
  #lastSweep = 0;

  constructor(options: ResolverOptions) {
    this.#o = resolveOptions(options);
    this.#entries = new Lru(this.#o.maxServices, (service) => this.#hub?.untrack(service));
    const { etcd, source } = this.#o;
    if (this.#o.watch && !etcd && !source?.tracker) throw new TypeError('watch mode needs an etcd client or a source it can watch (a relay)');
    this.#source = source ?? etcdSource(etcd!, this.#o);
    // A source that can be watched (a relay's long-polls) keeps services current itself; else etcd watches do.
    this.#hub = !this.#o.watch
      ? undefined
      : source?.tracker
        ? source.tracker({ now: this.#o.now, ...(this.#o.onChange ? { onChange: this.#o.onChange } : {}) })
        : new WatchHub(etcd!, this.#o.layouts, {
          pageSize: this.#o.pageSize,
          now: this.#o.now,
          silenceMs: this.#o.watchSilenceMs,
          onLost: (service) => this.#resync(service),
          ...(this.#o.onChange ? { onChange: this.#o.onChange } : {}),
        });
  }

  get stats(): Readonly<ResolverStats> {
    return { ...this.#stats };
  }

  /** Open etcd watches (watch mode). */
  get watchCount(): number {
    return this.#hub?.feedCount ?? 0;
  }

  /**
   * The instances of `service`.
   * @throws {RegistryError} `INVALID_SERVICE` for a name no layout can hold
   * @throws {EtcdError | RelayError} when the source (etcd or a relay) cannot be read and no snapshot is young enough to serve
   */
  async resolve(service: string, options: ResolveOptions = {}): Promise<Snapshot> {
    return this.resolveNow(service, options);
  }

  /**
   * `resolve`, answered without waiting when a snapshot can be served now
   * (a watched service, or one inside its TTL): the gateway's hot path then
   * spends no turn of the event loop on discovery.
   * @throws {RegistryError} `INVALID_SERVICE` (synchronously) for a name no layout can hold
   */
  resolveNow(service: string, options: ResolveOptions = {}): Snapshot | Promise<Snapshot> {
    const now = this.#o.now();
    this.#sweep(now);
    const entry = this.#entry(service, now);
    const live = this.#hub?.live(service);
    if (live) {
      const broken = live.brokenSince;
      if (broken === undefined || now - broken < this.#o.staleIfErrorMs) {
        this.#stats[broken === undefined ? 'hits' : 'staleIfErrorServes']++;
        entry.currentAt = broken ?? now;
        return this.#keep(entry, live.snapshot(now));
      }
      this.#hub!.untrack(service);
    }
    const { waitUntil } = options;
    if (entry.refreshing && now - entry.refreshStartedAt >= this.#o.refreshTimeoutMs) this.#abandon(service, entry, now, waitUntil);
    const snapshot = entry.snapshot;
    if (!snapshot) {
      this.#stats.misses++;
      // etcd just failed for this name: answer that again rather than send it another read.
      if (!entry.refreshing && entry.failedAt !== undefined && now - entry.failedAt < this.#o.errorBackoffMs) throw entry.lastError;
      return this.#refresh(service, entry, now, waitUntil);
    }
    const age = now - entry.currentAt;
    // Stale-if-error counts from when the data was last known current, which a stale relay puts before the read.
    const knownAge = now - Math.min(entry.currentAt, snapshot.staleSince ?? entry.currentAt);
    // In watch mode a snapshot no watch keeps current (its read could not be tracked) is read again soon, whatever cacheTtl says.
    const ttl = snapshot.instances.length === 0 ? this.#o.negativeTtlMs : this.#hub ? Math.min(this.#o.cacheTtlMs, UNWATCHED_FRESH_MS) : this.#o.cacheTtlMs;
    // A failed read inside the TTL is a lost watch's resync: not fresh, whatever the TTL.
    if (age < ttl && entry.failedAt === undefined) {
      this.#stats.hits++;
      return snapshot;
    }
    const failing = entry.failedAt !== undefined;
    if ((age < ttl + this.#o.staleWhileRevalidateMs && knownAge < this.#o.staleIfErrorMs) || (failing && knownAge < this.#o.staleIfErrorMs)) {
      this.#stats[failing ? 'staleIfErrorServes' : 'staleServes']++;
      this.#background(service, entry, now, waitUntil);
      return snapshot;
    }
    return this.#refresh(service, entry, now, waitUntil).catch((error: unknown) => {
      if (!(error instanceof EtcdError || error instanceof RelayError) || knownAge >= this.#o.staleIfErrorMs) throw error;
      this.#stats.staleIfErrorServes++;
      return snapshot;
    });
  }

  /** The snapshot held for a service, without asking etcd. */
  peek(service: string): Snapshot | undefined {
    const live = this.#hub?.live(service);
    // The gateway peeks before every lookup: the clock is read only when a snapshot must be built.
    if (live) return live.built ?? live.snapshot(this.#o.now());
    return this.#entries.peek(service)?.snapshot;
  }

  /**
   * What is held for a service, without asking etcd: the snapshot, when it
   * was last known to match etcd (`currentAt`), and in watch mode whether a
   * watch keeps it current and since when that watch is down.
   */
  status(service: string): ServiceStatus | undefined {
    const live = this.#hub?.live(service);
    const now = this.#o.now();
    if (live) {
      const broken = live.brokenSince;
      return { snapshot: live.snapshot(now), currentAt: broken ?? now, watched: true, ...(broken === undefined ? {} : { watchDownSince: broken }) };
    }
    const entry = this.#entries.peek(service);
    return entry?.snapshot ? { snapshot: entry.snapshot, currentAt: Math.min(entry.currentAt, entry.snapshot.staleSince ?? entry.currentAt), watched: false } : undefined;
  }

  /** The services held in memory, least recently used first. */
  services(): string[] {
    return Array.from(this.#entries.entries(), ([service]) => service);
  }

  /** Stops every watch. Pending lookups still settle. */
  close(): void {
    this.#hub?.close();
  }

  #entry(service: string, now: number): Entry {
    let entry = this.#entries.get(service);
    if (!entry) {
      // A name already held was checked when it was first asked for.
      assertServiceName(service);
      entry = { snapshot: undefined, currentAt: 0, refreshing: undefined, refreshStartedAt: 0, failedAt: undefined, lastError: undefined, lastUsed: now };
      this.#entries.set(service, entry);
    }
    entry.lastUsed = now;
    return entry;
  }

  /** Waits for the read in flight (starting one if none is), at most until its bound. */
  #refresh(service: string, entry: Entry, now: number, waitUntil: ResolveOptions['waitUntil']): Promise<Snapshot> {
    const read = entry.refreshing ?? this.#start(service, entry, now, waitUntil);
    const bound = this.#o.refreshTimeoutMs;
    return within(read, entry.refreshStartedAt + bound - now, () => refreshTimeout(service, bound));
  }

  /** Starts the one read of a service that lookups share. */
  #start(service: string, entry: Entry, now: number, waitUntil: ResolveOptions['waitUntil']): Promise<Snapshot> {
    const read: Promise<Snapshot> = this.#read(service, entry.snapshot).then(
      (snapshot) => this.#landed(entry, read, now, snapshot),
      (error: unknown) => {
        if (entry.refreshing !== read) throw error;
        entry.refreshing = undefined;
        entry.failedAt = this.#o.now();
        entry.lastError = error;
        this.#stats.refreshFailures++;
        throw error;
      },
    );
    entry.refreshing = read;
    entry.refreshStartedAt = now;
    const settled = read.then(
      () => undefined,
      () => undefined,
    );
    waitUntil?.(settled);
    return read;
  }

  #landed(entry: Entry, read: Promise<Snapshot>, startedAt: number, snapshot: Snapshot): Snapshot {
    if (entry.refreshing === read) {
      entry.refreshing = undefined;
      entry.failedAt = undefined;
      entry.lastError = undefined;
      entry.currentAt = this.#o.now();
      return this.#keep(entry, snapshot);
    }
    // A read given up on that settled after all (a slow etcd, not a lost one): its answer is still news unless a later read brought newer.
    if (entry.snapshot === undefined || snapshot.revision >= entry.snapshot.revision) {
      entry.currentAt = Math.max(entry.currentAt, startedAt);
      this.#keep(entry, snapshot);
    }
    return snapshot;
  }

  /**
   * The read in flight is past its bound: lost (a runtime ended the request
   * that started it, and its I/O with it) or stuck. Nobody waits on it any
   * more: it counts as failed, and a new read starts now.
   */
  #abandon(service: string, entry: Entry, now: number, waitUntil: ResolveOptions['waitUntil']): void {
    entry.refreshing = undefined;
    entry.failedAt = now;
    entry.lastError = refreshTimeout(service, this.#o.refreshTimeoutMs);
    this.#stats.refreshFailures++;
    // A watch-mode read shares the hub's first load of the service: drop that too, or the new read would join it.
    this.#hub?.untrack(service);
    this.#start(service, entry, now, waitUntil);
  }

  async #read(service: string, previous: Snapshot | undefined): Promise<Snapshot> {
    this.#stats.refreshes++;
    const snapshot = this.#hub ? await this.#hub.track(service) : await this.#source.read(service, previous);
    // A relay serving what it held since before stale-if-error: not served here either.
    if (snapshot.staleSince !== undefined && this.#o.now() - snapshot.staleSince >= this.#o.staleIfErrorMs) {
      this.#hub?.untrack(service);
      throw new RelayError('RELAY_ETCD_UNAVAILABLE', `the relay's snapshot of ${service} is older than stale-if-error: it has not reached etcd since`);
    }
    if (!this.#hub) return snapshot;
    // Names nobody registered are remembered briefly instead of watched: a
    // stream of unknown names must not open a watch each.
    if (snapshot.instances.length === 0 && snapshot.skipped.length === 0) this.#hub.untrack(service);
    return snapshot;
  }

  #background(service: string, entry: Entry, now: number, waitUntil: ResolveOptions['waitUntil']): void {
    if (entry.refreshing || (entry.failedAt !== undefined && now - entry.failedAt < this.#o.errorBackoffMs)) return;
    this.#start(service, entry, now, waitUntil);
  }

  /** A watch was lost: read the service again now, serving the old snapshot meanwhile. */
  #resync(service: string): void {
    const entry = this.#entries.peek(service);
    if (entry && !entry.refreshing) this.#start(service, entry, this.#o.now(), undefined);
  }

  #keep(entry: Entry, snapshot: Snapshot): Snapshot {
    if (entry.snapshot !== snapshot) {
      entry.snapshot = snapshot;
      this.#report(snapshot);
    }
    return snapshot;
  }

  #report(snapshot: Snapshot): void {
    for (const record of snapshot.skipped) {
      const id = `${record.key}\u0000${record.reason}`;
      if (this.#reported.has(id)) continue;
      if (this.#reported.size >= MAX_REPORTED) this.#reported.clear();
      this.#reported.add(id);
      this.#stats.skippedRecords++;
      try {
        this.#o.onSkipped?.(record);
      } catch {
        // A logging hook's failure must not fail the lookup.
      }
    }
  }

  /** Watch mode: stop watching services nobody asked for in `watchIdleMs`. */
  #sweep(now: number): void {
    if (!this.#hub || now - this.#lastSweep < this.#o.watchIdleMs / 4) return;
    this.#lastSweep = now;
    const idle: string[] = [];
    for (const [service, entry] of this.#entries.entries()) {
      if (now - entry.lastUsed < this.#o.watchIdleMs) break;
      idle.push(service);
    }
    for (const service of idle) {
      this.#hub.untrack(service);
      this.#entries.delete(service);
    }
  }
}
