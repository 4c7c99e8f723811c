import type { Instance } from '../registry/index.js';
import { hashString, SEED_HIGH, SEED_LOW, unitFromPair } from './hash.js';
import type { Skip, Tier } from './tier.js';

/**
 * `hash`: weighted rendezvous hashing. Each instance scores weight / -ln(u) with u a
 * hash of (key, instance key); the highest wins. Removing an instance moves only the
 * keys it had; skipping one (tried, ejected) falls to that key's runner-up.
 */
export function pickRendezvous(tier: Tier, hashKey: string, skip: Skip | undefined): Instance | undefined {
  const { instances, weights } = tier;
  const hashes = tier.hashes;
  const keyHigh = hashString(hashKey, SEED_HIGH);
  const keyLow = hashString(hashKey, SEED_LOW);
  let best: Instance | undefined;
  let bestScore = -1;
  for (let i = 0; i < instances.length; i++) {
    const instance = instances[i]!;
    if (skip?.(instance)) continue;
    const u = unitFromPair(keyHigh, keyLow, hashes[2 * i]!, hashes[2 * i + 1]!);
    const score = weights[i]! / -Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = instance;
    }
  }
  return best;
}
