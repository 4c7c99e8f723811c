import type { Instance } from '../registry/index.js';
import type { Skip, Tier } from './tier.js';

/**
 * nginx's smooth weighted round-robin over one tier: each pick adds every weight to
 * its instance's `current`, takes the largest and subtracts the total from it.
 */
export class SmoothRoundRobin {
  readonly #tier: Tier;
  readonly #current: Float64Array;
  /** Where ties start to be broken, so equal weights rotate from a random place. */
  readonly #offset: number;

  /**
   * From all-zero state with `first` undefined: nginx's exact sequence. With `first`,
   * that instance comes first and nginx's sequence follows, continuing from `first + 1`
   * on ties. Isolates that each see few requests then spread their first picks by weight
   * instead of all starting on the heaviest instance.
   */
  constructor(tier: Tier, first?: number) {
    this.#tier = tier;
    this.#current = new Float64Array(tier.size);
    this.#offset = first === undefined ? 0 : (first + 1) % Math.max(1, tier.size);
    if (first !== undefined && tier.size > 0) {
      // Sums to 0 like any reachable state; after one step every `current` is 0 again.
      for (let i = 0; i < tier.size; i++) this.#current[i] = -tier.weights[i]!;
      this.#current[first] = tier.total - tier.weights[first]!;
    }
  }

  /** Skipped instances take no part in the step, as nginx does with peers that are down. */
  next(skip: Skip | undefined): Instance | undefined {
    const { instances, weights } = this.#tier;
    const n = instances.length;
    let total = 0;
    let best = -1;
    let bestCurrent = -Infinity;
    for (let k = 0; k < n; k++) {
      const i = k + this.#offset < n ? k + this.#offset : k + this.#offset - n;
      if (skip?.(instances[i]!)) continue;
      const current = this.#current[i]! + weights[i]!;
      this.#current[i] = current;
      total += weights[i]!;
      if (current > bestCurrent) {
        bestCurrent = current;
        best = i;
      }
    }
    if (best < 0) return undefined;
    this.#current[best] = bestCurrent - total;
    return instances[best];
  }
}
