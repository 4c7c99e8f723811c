import type { Instance } from '../registry/index.js';
import type { Skip, Tier } from './tier.js';
import { drawIndex } from './weighted.js';

/**
 * `least-request`: the power of two choices. Two draws by weight; the one with fewer
 * attempts in flight wins. On a tie the first draw wins, which keeps the split exactly
 * proportional to weight while nothing is in flight.
 */
export function pickLeastRequest(
  tier: Tier,
  random: () => number,
  skip: Skip | undefined,
  inFlight: (instance: Instance) => number,
): Instance | undefined {
  const first = drawIndex(tier, random, skip);
  if (first < 0) return undefined;
  const a = tier.instances[first]!;
  const b = tier.instances[drawIndex(tier, random, skip)]!;
  return a === b || inFlight(a) <= inFlight(b) ? a : b;
}
