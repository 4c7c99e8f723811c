/** Width of one slot of recent traffic. */
export const SLOT_MS = 10_000;
/** Slots kept per service: the last five minutes. */
export const SLOTS = 30;
/** Upper bounds of the latency buckets (ms) for the recent percentiles: coarse, so a slot stays small. */
const BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, Infinity];
/** Services followed; more are not recorded, so hostile names cannot grow memory. */
const MAX_SERVICES = 1_000;
/** Per slot: its number, requests, errors (5xx and the gateway's own), then one count per latency bucket. */
const WIDTH = 3 + BOUNDS.length;

/** One service's recent traffic, slot by slot (oldest first); latencies in ms, undefined where a slot saw none. */
export interface TrafficSeries {
  readonly slotMs: number;
  /** Start of each slot (ms since the epoch). */
  readonly at: number[];
  readonly requests: number[];
  readonly errors: number[];
  readonly p50: (number | undefined)[];
  readonly p99: (number | undefined)[];
}

/**
 * The last few minutes of requests per service, for the dashboard: a ring
 * of 10 s slots in one flat array per service, so recording a request is a
 * few additions and no allocation.
 */
export class RecentTraffic {
  readonly #rings = new Map<string, Float64Array>();

  /** A finished request to `service`; `latencyMs` undefined when no instance answered. */
  record(service: string, status: number, latencyMs: number | undefined, now: number): void {
    const ring = this.#ring(service);
    if (ring === undefined) return;
    const slot = Math.floor(now / SLOT_MS);
    const at = (slot % SLOTS) * WIDTH;
    if (ring[at] !== slot) {
      ring.fill(0, at, at + WIDTH);
      ring[at] = slot;
    }
    ring[at + 1]!++;
    if (status >= 500) ring[at + 2]!++;
    if (latencyMs === undefined) return;
    let bucket = 0;
    while (latencyMs > BOUNDS[bucket]!) bucket++;
    ring[at + 3 + bucket]!++;
  }

  /** The slots of the last five minutes up to `now`, oldest first; undefined for a service never recorded. */
  series(service: string, now: number): TrafficSeries | undefined {
    const ring = this.#rings.get(service);
    if (ring === undefined) return undefined;
    const last = Math.floor(now / SLOT_MS);
    const series = { slotMs: SLOT_MS, at: [] as number[], requests: [] as number[], errors: [] as number[], p50: [] as (number | undefined)[], p99: [] as (number | undefined)[] };
    for (let slot = last - SLOTS + 1; slot <= last; slot++) {
      const at = (slot % SLOTS) * WIDTH;
      const held = ring[at] === slot;
      series.at.push(slot * SLOT_MS);
      series.requests.push(held ? ring[at + 1]! : 0);
      series.errors.push(held ? ring[at + 2]! : 0);
      series.p50.push(held ? quantile(ring, at + 3, 0.5) : undefined);
      series.p99.push(held ? quantile(ring, at + 3, 0.99) : undefined);
    }
    return series;
  }

  #ring(service: string): Float64Array | undefined {
    let ring = this.#rings.get(service);
    if (ring === undefined && this.#rings.size < MAX_SERVICES) {
      ring = new Float64Array(SLOTS * WIDTH);
      // Slot numbers start unset (-1) so that slot 0 is not taken as recorded.
      for (let i = 0; i < SLOTS; i++) ring[i * WIDTH] = -1;
      this.#rings.set(service, ring);
    }
    return ring;
  }
}

/** The bucket bound at or above quantile `q` of the counts at `from`; undefined when there are none. */
function quantile(ring: Float64Array, from: number, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < BOUNDS.length; i++) total += ring[from + i]!;
  if (total === 0) return undefined;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < BOUNDS.length; i++) {
    seen += ring[from + i]!;
    if (seen >= rank) return BOUNDS[i] === Infinity ? BOUNDS[i - 1] : BOUNDS[i];
  }
  return undefined;
}
