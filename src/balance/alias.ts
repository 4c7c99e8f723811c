/**
 * Vose's alias method: O(n) to build, O(1) per weighted draw.
 * Built once per candidate list, so a pick never scans or sorts.
 */
export class AliasTable {
  readonly #probability: Float64Array;
  readonly #alias: Uint32Array;

  /** `weights` must be finite, non-negative and sum to more than 0. */
  constructor(weights: Float64Array) {
    const n = weights.length;
    this.#probability = new Float64Array(n);
    this.#alias = new Uint32Array(n);
    let total = 0;
    for (const w of weights) total += w;
    const scaled = new Float64Array(n);
    const small = new Uint32Array(n);
    const large = new Uint32Array(n);
    let smallCount = 0;
    let largeCount = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      if (scaled[i]! < 1) small[smallCount++] = i;
      else large[largeCount++] = i;
    }
    while (smallCount > 0 && largeCount > 0) {
      const s = small[--smallCount]!;
      const l = large[largeCount - 1]!;
      this.#probability[s] = scaled[s]!;
      this.#alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) {
        largeCount--;
        small[smallCount++] = l;
      }
    }
    // Whatever is left is 1 up to rounding error.
    while (largeCount > 0) this.#probability[large[--largeCount]!] = 1;
    while (smallCount > 0) this.#probability[small[--smallCount]!] = 1;
  }

  /** An index drawn with probability weight / total; `random` in [0, 1). */
  draw(random: () => number): number {
    const n = this.#probability.length;
    const x = random() * n;
    const i = Math.min(Math.floor(x), n - 1);
    return x - i < this.#probability[i]! ? i : this.#alias[i]!;
  }
}
