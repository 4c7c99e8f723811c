import { RelayError } from './errors.js';
import type { Snapshot } from './snapshot.js';
import type { Tracked, Tracker } from './tracker.js';

/** A long-poll: held by the relay up to `waitMs` until the snapshot changes; cut short by `signal`. */
export interface RelayReadOptions {
  waitMs?: number;
  signal?: AbortSignal;
}

/** What the loops read: the relay's snapshot of a service, `previous` itself when unchanged (`RelaySource`). */
export interface RelayReader {
  read(service: string, previous: Snapshot | undefined, options?: RelayReadOptions): Promise<Snapshot>;
}

export interface RelayWatchOptions {
  now: () => number;
  /** How long each long-poll asks the relay to hold it (ms). Default 30,000. */
  waitMs?: number;
  /** The first pause after a failed long-poll (ms), doubled per failure up to `maxBackoffMs`. Default 250. */
  backoffMs?: number;
  /** Default 10,000. */
  maxBackoffMs?: number;
  random?: () => number;
  /** The held service's snapshot changed. */
  onChange?: (service: string) => void;
}

/**
 * Watch mode over a snapshot relay: one long-poll loop per held service
 * (`?wait=` with the held revision), shared by every lookup, so a change is
 * seen within one round trip and steady state makes no other request. A
 * failing loop backs off (the relay source fails over across URLs) and keeps
 * its last snapshot, reported broken since the failure; a refused token
 * (401, 403) is asked again only every `maxBackoffMs`.
 *
 * @example
 * const watch = new RelayWatch(new RelaySource({ urls, token }), { now: Date.now });
 * const snapshot = await watch.track('orders');
 */
export class RelayWatch implements Tracker {
  readonly #source: RelayReader;
  readonly #options: Required<RelayWatchOptions>;
  readonly #loops = new Map<string, PollLoop>();
  #closed = false;

  constructor(source: RelayReader, options: RelayWatchOptions) {
    this.#source = source;
    this.#options = {
      now: options.now,
      waitMs: options.waitMs ?? 30_000,
      backoffMs: options.backoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      random: options.random ?? Math.random,
      onChange: options.onChange ?? (() => undefined),
    };
  }

  /** Long-poll loops running. */
  get feedCount(): number {
    return this.#loops.size;
  }

  live(service: string): Tracked | undefined {
    const loop = this.#loops.get(service);
    return loop?.current ? loop : undefined;
  }

  /** Starts a loop for `service` unless one runs; resolves with its first snapshot. After `close()` it only reads. */
  track(service: string): Promise<Snapshot> {
    const existing = this.#loops.get(service);
    if (existing) return existing.ready;
    if (this.#closed) return this.#source.read(service, undefined);
    const loop = new PollLoop(service, this.#source, this.#options);
    this.#loops.set(service, loop);
    loop.ready.catch(() => this.#stop(loop));
    return loop.ready;
  }

  untrack(service: string): void {
    const loop = this.#loops.get(service);
    if (loop) this.#stop(loop);
  }

  /** Stops every loop (their long-polls are cut); later lookups are single reads. */
  close(): void {
    this.#closed = true;
    for (const loop of this.#loops.values()) loop.stop();
    this.#loops.clear();
  }

  #stop(loop: PollLoop): void {
    loop.stop();
    if (this.#loops.get(loop.service) === loop) this.#loops.delete(loop.service);
  }
}

/** One service's long-poll loop and the snapshot it keeps. */
class PollLoop implements Tracked {
  readonly service: string;
  readonly ready: Promise<Snapshot>;
  current: Snapshot | undefined;
  readonly #source: RelayReader;
  readonly #options: Required<RelayWatchOptions>;
  readonly #stop = new AbortController();
  #failingSince: number | undefined;

  constructor(service: string, source: RelayReader, options: Required<RelayWatchOptions>) {
    this.service = service;
    this.#source = source;
    this.#options = options;
    this.ready = source.read(service, undefined, { signal: this.#stop.signal }).then((first) => {
      this.current = first;
      void this.#run();
      return first;
    });
  }

  /** Since when the loop has failed, or the relay has served its snapshot stale, whichever is older. */
  get brokenSince(): number | undefined {
    const stale = this.current?.staleSince;
    if (stale === undefined) return this.#failingSince;
    return this.#failingSince === undefined ? stale : Math.min(stale, this.#failingSince);
  }

  get built(): Snapshot | undefined {
    return this.current;
  }

  snapshot(): Snapshot {
    return this.current!;
  }

  stop(): void {
    this.#stop.abort();
  }

  async #run(): Promise<void> {
    const { signal } = this.#stop;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const previous = this.current;
        this.current = await this.#source.read(this.service, previous, { waitMs: this.#options.waitMs, signal });
        if (previous !== undefined && this.current !== previous) this.#options.onChange(this.service);
        this.#failingSince = undefined;
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        this.#failingSince ??= this.#options.now();
        failures++;
        // A refused token waits for an operator (or the relay accepting it again), not for milliseconds: ask again only at the longest pause.
        const refused = error instanceof RelayError && error.code === 'RELAY_UNAUTHORIZED';
        await pause(this.#backoff(refused ? Infinity : failures), signal);
      }
    }
  }

  /** Exponential, with jitter so gateways cut off together do not come back together. */
  #backoff(failures: number): number {
    const { backoffMs, maxBackoffMs, random } = this.#options;
    const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 20));
    return ceiling / 2 + (random() * ceiling) / 2;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
