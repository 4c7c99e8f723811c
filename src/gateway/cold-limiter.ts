import { parseIp } from './ip.js';

export interface ColdLookupLimits {
  /** Lookups of never-seen names per second for one client address, after a burst. */
  perClient: { perSecond: number; burst: number };
  /** The same for all clients together: what etcd is asked at most. */
  overall: { perSecond: number; burst: number };
  /** Client addresses remembered (least recently seen dropped first). */
  maxClients: number;
}

export const DEFAULT_COLD_LIMITS: ColdLookupLimits = {
  perClient: { perSecond: 10, burst: 50 },
  overall: { perSecond: 500, burst: 1_000 },
  maxClients: 10_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets for lookups of services nothing is known about: each costs an
 * etcd read, so a flood of made-up names must not become a flood on etcd. One
 * bucket per client address, so one client's flood defers its own lookups and
 * not everybody's, and one overall bucket that caps what reaches etcd.
 */
export class ColdLookupLimiter {
  readonly #limits: ColdLookupLimits;
  readonly #now: () => number;
  readonly #overall: Bucket;
  readonly #clients = new Map<string, Bucket>();

  constructor(limits: ColdLookupLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
    this.#overall = { tokens: limits.overall.burst, at: now() };
  }

  /** Takes a token for this client (its address; IPv6 by /64) and one overall, if both have one left. */
  take(clientIp: string | undefined): boolean {
    const now = this.#now();
    const client = clientKey(clientIp);
    const own = client === undefined ? undefined : this.#client(client, now);
    if (own && !refill(own, this.#limits.perClient, now)) return false;
    if (!refill(this.#overall, this.#limits.overall, now)) return false;
    if (own) own.tokens -= 1;
    this.#overall.tokens -= 1;
    return true;
  }

  #client(client: string, now: number): Bucket {
    let bucket = this.#clients.get(client);
    if (bucket) {
      this.#clients.delete(client);
    } else {
      bucket = { tokens: this.#limits.perClient.burst, at: now };
      if (this.#clients.size >= this.#limits.maxClients) this.#clients.delete(this.#clients.keys().next().value!);
    }
    this.#clients.set(client, bucket);
    return bucket;
  }
}

/** Refills a bucket to now; whether it holds a whole token. */
function refill(bucket: Bucket, rate: { perSecond: number; burst: number }, now: number): boolean {
  bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) * rate.perSecond) / 1000);
  bucket.at = now;
  return bucket.tokens >= 1;
}

/** A client's bucket key: its address, or its /64 for IPv6, where one host can rotate through many. */
function clientKey(ip: string | undefined): string | undefined {
  if (ip === undefined || !ip.includes(':')) return ip;
  const bits = parseIp(ip);
  return bits === undefined ? ip : `${(bits >> 64n).toString(16)}::/64`;
}
