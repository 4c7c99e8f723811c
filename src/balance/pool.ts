import type { Instance } from '../registry/index.js';
import { Tier } from './tier.js';

/** Distinct filters (tags and zone) remembered per list; more are rebuilt, so hostile headers cannot grow memory. */
export const MAX_FILTERS = 64;

/** The candidates for one filter: the preferred zone's first, the others only as a fallback. */
export interface Candidates {
  readonly preferred: Tier;
  /** Present only when a zone was asked for. */
  readonly fallback: Tier | undefined;
}

type Tags = Readonly<Record<string, string>>;

/**
 * Everything derived from one immutable instance list. Holds no per-Balancer or
 * mutable selection state, so one pool serves every Balancer in the isolate.
 */
export class Pool {
  readonly instances: readonly Instance[];
  /** Instances by etcd key, to tell which ones left when the list changes. */
  readonly byKey: ReadonlyMap<string, Instance>;
  /** Instances with a weight above 0: the base for the ejection cap. */
  readonly routable: number;
  readonly #unfiltered: Candidates;
  readonly #filtered = new Map<string, Candidates>();
  /** Whether any routable instance is tagged with a zone: when none is, a zone prefers nothing and changes no pick. */
  readonly #zoned: boolean;

  constructor(instances: readonly Instance[]) {
    this.instances = instances;
    this.byKey = new Map(instances.map((instance) => [instance.key, instance]));
    const routable = instances.filter((instance) => instance.weight > 0);
    this.routable = routable.length;
    this.#unfiltered = { preferred: new Tier(routable), fallback: undefined };
    this.#zoned = routable.some((instance) => Object.hasOwn(instance.tags, 'zone'));
  }

  /** The candidates for these tags and zone, built on first use and cached. */
  candidates(tags: Tags | undefined, zone: string | undefined): Candidates {
    if (!this.#zoned) zone = undefined;
    if (!zone && !hasEntries(tags)) return this.#unfiltered;
    // Insertion order, not sorted: the same request shape always gives the same key.
    const key = JSON.stringify([zone ?? '', tags ?? {}]);
    let found = this.#filtered.get(key);
    if (found !== undefined) {
      this.#filtered.delete(key);
    } else {
      found = this.#build(tags, zone);
      if (this.#filtered.size >= MAX_FILTERS) {
        const oldest = this.#filtered.keys().next();
        if (!oldest.done) this.#filtered.delete(oldest.value);
      }
    }
    this.#filtered.set(key, found);
    return found;
  }

  /** How many filters are cached (for tests). */
  get cachedFilters(): number {
    return this.#filtered.size;
  }

  #build(tags: Tags | undefined, zone: string | undefined): Candidates {
    const matching = this.#unfiltered.preferred.instances.filter((instance) => carries(instance, tags));
    if (!zone) return { preferred: new Tier(matching), fallback: undefined };
    const inZone = (instance: Instance): boolean => Object.hasOwn(instance.tags, 'zone') && instance.tags['zone'] === zone;
    return {
      preferred: new Tier(matching.filter(inZone)),
      fallback: new Tier(matching.filter((instance) => !inZone(instance))),
    };
  }
}

function hasEntries(tags: Tags | undefined): boolean {
  for (const key in tags) if (Object.hasOwn(tags, key)) return true;
  return false;
}

function carries(instance: Instance, tags: Tags | undefined): boolean {
  if (tags === undefined) return true;
  for (const [key, value] of Object.entries(tags)) {
    if (!Object.hasOwn(instance.tags, key) || instance.tags[key] !== value) return false;
  }
  return true;
}

const pools = new WeakMap<readonly Instance[], Pool>();

/** The pool for a list, built once per list object: pass the same array for an unchanged snapshot. */
export function poolFor(instances: readonly Instance[]): Pool {
  let pool = pools.get(instances);
  if (pool === undefined) {
    pool = new Pool(instances);
    pools.set(instances, pool);
  }
  return pool;
}
