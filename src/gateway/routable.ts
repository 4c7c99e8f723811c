import type { Instance, SkippedRecord } from '../registry/index.js';
import type { AddressPolicy } from './address-policy.js';

/** A snapshot's instances split by the address policy; built once per snapshot. */
export interface Routable {
  /** The instances the gateway may send to; the same array while the snapshot is unchanged. */
  readonly instances: readonly Instance[];
  /** Instances the policy refused, as skipped records with the reason. */
  readonly denied: readonly SkippedRecord[];
}

/** Applies an address policy to instance lists, remembering each list's answer. */
export class RoutableCache {
  readonly #policy: AddressPolicy;
  readonly #cache = new WeakMap<readonly Instance[], Routable>();

  constructor(policy: AddressPolicy) {
    this.#policy = policy;
  }

  of(instances: readonly Instance[]): Routable {
    let routable = this.#cache.get(instances);
    if (!routable) {
      routable = this.#split(instances);
      this.#cache.set(instances, routable);
    }
    return routable;
  }

  #split(instances: readonly Instance[]): Routable {
    const allowed: Instance[] = [];
    const denied: SkippedRecord[] = [];
    for (const instance of instances) {
      const reason = this.#policy.check(instance);
      if (reason === undefined) allowed.push(instance);
      else denied.push({ key: instance.key, layout: instance.layout, reason });
    }
    // Keep the snapshot's own array when nothing is denied, so caches keyed on it stay warm.
    return Object.freeze({ instances: denied.length === 0 ? instances : Object.freeze(allowed), denied: Object.freeze(denied) });
  }
}
