import type { Instance } from '../registry/index.js';
import type { Skip, Tier } from './tier.js';

/** Alias draws tried before falling back to a scan; most skips (one tried, few ejected) end here. */
const REJECTION_TRIES = 4;

/**
 * An index drawn by weight among the instances `skip` lets through, or -1 when none.
 * O(1) while few are skipped; a two-pass linear scan otherwise, never allocating.
 */
export function drawIndex(tier: Tier, random: () => number, skip: Skip | undefined): number {
  if (tier.size === 0) return -1;
  if (skip === undefined) return tier.draw(random);
  for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
    const i = tier.draw(random);
    if (!skip(tier.instances[i]!)) return i;
  }
  return scan(tier, random, skip);
}

function scan(tier: Tier, random: () => number, skip: Skip): number {
  const { instances, weights } = tier;
  let remaining = 0;
  let last = -1;
  for (let i = 0; i < instances.length; i++) {
    if (skip(instances[i]!)) continue;
    remaining += weights[i]!;
    last = i;
  }
  if (last < 0) return -1;
  let target = random() * remaining;
  for (let i = 0; i < last; i++) {
    if (skip(instances[i]!)) continue;
    target -= weights[i]!;
    if (target < 0) return i;
  }
  return last;
}

/** `weighted-random`: one draw by weight. */
export function pickWeighted(tier: Tier, random: () => number, skip: Skip | undefined): Instance | undefined {
  const i = drawIndex(tier, random, skip);
  return i < 0 ? undefined : tier.instances[i];
}
