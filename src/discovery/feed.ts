import type { EtcdClient, WatchEvent } from '../etcd/index.js';

export interface FeedListener {
  /** One batch of changes under the feed's prefix, current at `revision`. */
  onBatch(events: readonly WatchEvent[], revision: number): void;
  /** The watch cannot go on (compaction, a permanent error): what it fed must be read again. */
  onLost(error: unknown): void;
}

/**
 * Longest wait between reconnects (ms). Routing follows this watch, so once
 * etcd is back its changes must show within a couple of seconds, not after
 * the client's default 5 s backoff.
 */
const RECONNECT_MAX_MS = 2_000;

/**
 * One etcd watch over a prefix, shared by every service it covers. Reconnects
 * (inside the client) resume from the last delivered revision, so a dropped
 * stream loses nothing; `brokenSince` tells how long the feed has been down.
 */
export class Feed {
  /** Identifies the feed among a hub's feeds. */
  readonly id: string;
  readonly prefix: string;
  /** Services reading this feed. */
  readonly services = new Set<string>();
  readonly #etcd: EtcdClient;
  readonly #listener: FeedListener;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #start: number | undefined;
  #brokenSince: number | undefined;

  readonly #silenceMs: number;

  /** `silenceMs`: reopen a stream that sent nothing for this long, so a stalled one is noticed (0: never). */
  constructor(etcd: EtcdClient, id: string, prefix: string, listener: FeedListener, options: { now: () => number; silenceMs: number }) {
    this.#etcd = etcd;
    this.id = id;
    this.#silenceMs = options.silenceMs;
    this.prefix = prefix;
    this.#listener = listener;
    this.#now = options.now;
  }

  /** The revision the feed started from, once started. */
  get startRevision(): number | undefined {
    return this.#start;
  }

  /** When the stream failed, while it is reconnecting; undefined while it is up. */
  get brokenSince(): number | undefined {
    return this.#brokenSince;
  }

  /** Starts watching from `revision`, unless already started. */
  start(revision: number): void {
    if (this.#start !== undefined || this.#abort.signal.aborted) return;
    this.#start = revision;
    void this.#run(revision);
  }

  stop(): void {
    this.#abort.abort();
  }

  async #run(startRevision: number): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const batches = this.#etcd.watch(
        { prefix: this.prefix },
        {
          startRevision,
          signal,
          idleTimeoutMs: this.#silenceMs,
          backoff: { maxMs: RECONNECT_MAX_MS },
          onRetry: () => (this.#brokenSince ??= this.#now()),
          onCreated: () => (this.#brokenSince = undefined),
        },
      );
      for await (const batch of batches) this.#listener.onBatch(batch.events, batch.revision);
    } catch (error) {
      if (!signal.aborted) this.#listener.onLost(error);
    }
  }
}
