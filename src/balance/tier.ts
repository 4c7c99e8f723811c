import type { Instance } from '../registry/index.js';
import { AliasTable } from './alias.js';
import { hashString, SEED_HIGH, SEED_LOW } from './hash.js';

/** Tells a pick to pass over an instance (already tried, or ejected). */
export type Skip = (instance: Instance) => boolean;

/**
 * One list of candidates with everything a strategy needs, built once: weights,
 * an alias table and (on first use) the instances' rendezvous hashes.
 * Every instance in a tier has a weight above 0.
 */
export class Tier {
  readonly instances: readonly Instance[];
  readonly weights: Float64Array;
  readonly total: number;
  readonly #alias: AliasTable | undefined;
  #hashes: Uint32Array | undefined;

  constructor(instances: readonly Instance[]) {
    this.instances = instances;
    this.weights = Float64Array.from(instances, (instance) => instance.weight);
    let total = 0;
    for (const w of this.weights) total += w;
    this.total = total;
    this.#alias = instances.length > 0 ? new AliasTable(this.weights) : undefined;
  }

  get size(): number {
    return this.instances.length;
  }

  /** An index drawn by weight, O(1); the tier must not be empty. */
  draw(random: () => number): number {
    return this.#alias?.draw(random) ?? 0;
  }

  /** Two 32-bit hashes of each instance's etcd key, interleaved: [high0, low0, high1, low1, ...]. */
  get hashes(): Uint32Array {
    if (this.#hashes === undefined) {
      const hashes = new Uint32Array(this.instances.length * 2);
      this.instances.forEach((instance, i) => {
        hashes[2 * i] = hashString(instance.key, SEED_HIGH);
        hashes[2 * i + 1] = hashString(instance.key, SEED_LOW);
      });
      this.#hashes = hashes;
    }
    return this.#hashes;
  }
}
