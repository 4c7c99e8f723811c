export interface RateLimitOptions {
  /** Requests a client may make per second, sustained. */
  ratePerSecond: number;
  /** Requests a client may make at once after a quiet spell. */
  burst: number;
  /** Clients remembered; the least recently seen are forgotten first (a forgotten client starts with a full bucket). */
  maxClients: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address: `burst` tokens, refilled at
 * `ratePerSecond`. Memory is bounded by `maxClients`, so a flood of
 * addresses cannot grow it.
 *
 * @example
 * const limiter = new RateLimiter({ ratePerSecond: 20, burst: 100, maxClients: 10_000 });
 * const wait = limiter.take('203.0.113.7', Date.now()); // 0: go ahead; else seconds to wait
 */
export class RateLimiter {
  readonly #o: RateLimitOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1) || !(options.maxClients >= 1)) {
      throw new RangeError('rate limit: ratePerSecond must be above 0, burst and maxClients at least 1');
    }
    this.#o = options;
  }

  /** Clients remembered now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `client`: 0 when there was one, else the whole seconds until there is (for `Retry-After`). */
  take(client: string, now: number): number {
    const { ratePerSecond, burst, maxClients } = this.#o;
    const held = this.#buckets.get(client);
    const tokens = held ? Math.min(burst, held.tokens + ((now - held.at) / 1000) * ratePerSecond) : burst;
    // Re-inserted on every use: the map's order is then least recently seen first.
    this.#buckets.delete(client);
    if (this.#buckets.size >= maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (tokens >= 1) {
      this.#buckets.set(client, { tokens: tokens - 1, at: now });
      return 0;
    }
    this.#buckets.set(client, { tokens, at: now });
    return Math.max(1, Math.ceil((1 - tokens) / ratePerSecond));
  }
}

/**
 * Counts held long-polls, per client and in total, so one client (or all of
 * them together) cannot pin an unbounded number of open requests.
 */
export class PollSlots {
  readonly #perClient: number;
  readonly #total: number;
  readonly #held = new Map<string, number>();
  #count = 0;

  constructor(perClient: number, total: number) {
    this.#perClient = perClient;
    this.#total = total;
  }

  /** Long-polls held now. */
  get count(): number {
    return this.#count;
  }

  /** A slot for `client`, released by the function returned (once, however often it is called); undefined when a cap is reached. */
  acquire(client: string): (() => void) | undefined {
    const mine = this.#held.get(client) ?? 0;
    if (mine >= this.#perClient || this.#count >= this.#total) return undefined;
    this.#held.set(client, mine + 1);
    this.#count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#count--;
      const left = (this.#held.get(client) ?? 1) - 1;
      if (left === 0) this.#held.delete(client);
      else this.#held.set(client, left);
    };
  }
}
