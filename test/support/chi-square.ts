/** Pearson's statistic for observed counts against expected shares (weights). */
export function chiSquare(observed: readonly number[], weights: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, count, i) => {
    const expected = (total * weights[i]!) / weightSum;
    return sum + (count - expected) ** 2 / expected;
  }, 0);
}

/**
 * Critical value with 2 degrees of freedom at p = 1e-6: the survival function is
 * exp(-x/2). Used where the randomness is real (through a gateway), so a
 * correct gateway fails about once in a million runs.
 */
export const CHI2_DF2_P1E6 = -2 * Math.log(1e-6);
