import type { Instance } from '../registry/index.js';
import type { ServiceHealth } from './health.js';
import { pickLeastRequest } from './least-request.js';
import { Outliers } from './outliers.js';
import { type Candidates, poolFor } from './pool.js';
import { pickRendezvous } from './rendezvous.js';
import { SmoothRoundRobin } from './round-robin.js';
import type { Skip, Tier } from './tier.js';
import { type Attempt, type BalancerOptions, type EjectionState, type PickRequest, STRATEGY_NAMES, type StrategyName } from './types.js';
import { drawIndex, pickWeighted } from './weighted.js';

/**
 * Chooses an instance of a service per request: filters by tags and zone, skips
 * instances already tried or ejected, then applies the strategy. Lists are cached per
 * array object, so pass the snapshot's own array while it is unchanged.
 *
 * @example
 * ```ts
 * const balancer = new Balancer({ strategy: 'least-request' });
 * const tried = new Set<Instance>();
 * const instance = balancer.pick(snapshot.instances, { zone: 'eu-west', exclude: tried });
 * if (instance) {
 *   const attempt = balancer.begin(instance);
 *   try {
 *     const response = await fetch(instance.url + path);
 *     attempt.end(response.status >= 502 && response.status <= 504 ? 'failure' : 'success');
 *   } catch {
 *     attempt.end('failure');
 *   }
 * }
 * ```
 */
export class Balancer {
  readonly #strategy: StrategyName;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #outliers: Outliers;
  /** Round-robin positions are this Balancer's own; the tiers they walk are shared. */
  readonly #rounds = new WeakMap<Tier, SmoothRoundRobin>();

  /** Throws a RangeError for a strategy not in STRATEGY_NAMES (a config typo must not pick nothing silently). */
  constructor(options: BalancerOptions = {}) {
    const strategy = options.strategy ?? 'weighted-random';
    if (!STRATEGY_NAMES.includes(strategy)) throw new RangeError(`unknown balancing strategy: ${String(strategy)}`);
    this.#strategy = strategy;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#outliers = new Outliers(options.ejection ?? {}, this.#now, options.onEject);
  }

  /** The strategy in use, for the admin view. */
  get strategy(): StrategyName {
    return this.#strategy;
  }

  /**
   * One of `instances` (one service's routable list), or undefined when none is eligible.
   * Order: preferred zone, then the other zones, skipping ejected instances; when all
   * are ejected, any instance not in `request.exclude`, ejected or not.
   */
  pick(instances: readonly Instance[], request: PickRequest = {}): Instance | undefined {
    const first = instances[0];
    if (first === undefined) return undefined;
    const pool = poolFor(instances);
    const service = this.#outliers.observe(pool, first.service);
    const candidates = pool.candidates(request.tags, request.zone);
    const excluded = request.exclude !== undefined && request.exclude.size > 0 ? excludedSkip(request.exclude) : undefined;
    // No clock read while nothing of the service was ever ejected (almost always).
    const now = service.ejectedUntilMax === 0 ? 0 : this.#now();
    if (service.ejectedUntilMax <= now) return this.#pickTiers(candidates, request, service, excluded);
    const healthy: Skip = (instance) => excluded?.(instance) === true || service.isEjected(instance, now);
    return this.#pickTiers(candidates, request, service, healthy) ?? this.#pickTiers(candidates, request, service, excluded);
  }

  /** Starts an attempt on `instance`: counted in flight until `end`, whose outcome feeds ejection. `end` is idempotent. */
  begin(instance: Instance): Attempt {
    return this.#outliers.begin(instance);
  }

  /**
   * This Balancer's state for those of `instances` whose state is not the default
   * (failures in a row, ejections, or attempts in flight), in list order.
   */
  state(instances: readonly Instance[]): EjectionState[] {
    return this.#outliers.state(instances);
  }

  #pickTiers(candidates: Candidates, request: PickRequest, service: ServiceHealth, skip: Skip | undefined): Instance | undefined {
    const { preferred, fallback } = candidates;
    return this.#pickFrom(preferred, request, service, skip) ?? (fallback && this.#pickFrom(fallback, request, service, skip));
  }

  #pickFrom(tier: Tier, request: PickRequest, service: ServiceHealth, skip: Skip | undefined): Instance | undefined {
    if (tier.size === 0) return undefined;
    switch (this.#strategy) {
      case 'weighted-random':
        return pickWeighted(tier, this.#random, skip);
      case 'round-robin':
        return this.#round(tier).next(skip);
      case 'least-request':
        return pickLeastRequest(tier, this.#random, skip, (instance) => this.#outliers.inFlight(service, instance));
      case 'hash':
        return request.hashKey === undefined ? pickWeighted(tier, this.#random, skip) : pickRendezvous(tier, request.hashKey, skip);
    }
  }

  #round(tier: Tier): SmoothRoundRobin {
    let round = this.#rounds.get(tier);
    if (round === undefined) {
      round = new SmoothRoundRobin(tier, drawIndex(tier, this.#random, undefined));
      this.#rounds.set(tier, round);
    }
    return round;
  }
}

function excludedSkip(exclude: ReadonlySet<Instance>): Skip {
  return (instance) => exclude.has(instance);
}
