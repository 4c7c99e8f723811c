import type { Instance } from '../../registry/index.js';

/** Support for the balancer's tests: deterministic randomness, small instance lists and a chi-square check. */

/** mulberry32: a seeded PRNG in [0, 1), so statistical tests give the same answer every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An instance of `service` named `id`, weight 1 unless told. */
export function instance(id: string, fields: { weight?: number; tags?: Record<string, string>; url?: string; service?: string } = {}): Instance {
  const service = fields.service ?? 'svc';
  return {
    service,
    id,
    url: fields.url ?? `http://${id}.internal:8080`,
    weight: fields.weight ?? 1,
    tags: fields.tags ?? {},
    metadata: {},
    key: `/services/${service}/${id}`,
    layout: 'native',
    revision: 1,
  };
}

/** Pearson's chi-square statistic of observed counts against expected shares (summing to 1). */
export function chiSquare(observed: readonly number[], shares: readonly number[]): number {
  const total = observed.reduce((sum, count) => sum + count, 0);
  return observed.reduce((sum, count, i) => {
    const expected = total * shares[i]!;
    return sum + (count - expected) ** 2 / expected;
  }, 0);
}

/** Critical value of chi-square with 2 degrees of freedom at p = 0.001. */
export const CHI2_DF2_P001 = 13.816;

/** How many times each of `instances` was picked. */
export function tally(instances: readonly Instance[], picks: Iterable<Instance | undefined>): number[] {
  const counts = instances.map(() => 0);
  for (const picked of picks) {
    const i = picked === undefined ? -1 : instances.indexOf(picked);
    if (i < 0) throw new Error(`picked ${picked?.id ?? 'nothing'}, not one of the list`);
    counts[i]!++;
  }
  return counts;
}
