/**
 * The members of a failover set (etcd endpoints, snapshot relay URLs) in the
 * order to try them: from the one that last answered, those set aside after
 * a failure last. A member set aside is still tried, so a blip on every
 * member at once does not block calls for the whole set-aside time.
 *
 * @example
 * const rotation = new Rotation(urls.length, { cooldownMs: 10_000 });
 * for (const i of rotation.order()) try { return await call(urls[i]); rotation.answered(i) } catch { rotation.setAside(i) }
 */
export class Rotation {
  #current: number;
  readonly #asideUntil: number[];
  readonly #cooldownMs: number;
  readonly #now: () => number;

  constructor(size: number, options: { cooldownMs: number; now?: () => number; random?: () => number }) {
    this.#current = Math.floor((options.random ?? Math.random)() * size);
    this.#asideUntil = new Array<number>(size).fill(0);
    this.#cooldownMs = options.cooldownMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Indexes to try, healthy first. A single member is tried twice: a pooled
   * keep-alive connection the server already closed fails the first attempt
   * without saying anything about the server.
   */
  order(): number[] {
    const now = this.#now();
    const healthy: number[] = [];
    const aside: number[] = [];
    const size = this.#asideUntil.length;
    for (let i = 0; i < size; i++) {
      const index = (this.#current + i) % size;
      (this.#asideUntil[index]! > now ? aside : healthy).push(index);
    }
    const order = healthy.concat(aside);
    return order.length === 1 ? [order[0]!, order[0]!] : order;
  }

  /** `index` answered: calls start there, and it is no longer set aside. */
  answered(index: number): void {
    this.#current = index;
    this.#asideUntil[index] = 0;
  }

  /** Sets `index` aside for the cooldown, or for `ms` when that is longer (a server's `Retry-After`). */
  setAside(index: number, ms = this.#cooldownMs): void {
    this.#asideUntil[index] = Math.max(this.#asideUntil[index]!, this.#now() + Math.max(ms, this.#cooldownMs));
  }

  /** How many members are set aside now. */
  get asideCount(): number {
    const now = this.#now();
    return this.#asideUntil.filter((until) => until > now).length;
  }
}
