export interface WaitersOptions {
  /** How often each service with waiters is looked at (ms). */
  pollMs: number;
  /** The service's current revision; undefined (or a rejection) when it cannot be told now. */
  check: (service: string) => number | undefined | Promise<number | undefined>;
}

interface Waiter {
  revision: number;
  settle: (changed: boolean) => void;
}

/**
 * Long-poll requests waiting for a service to move past the revision they
 * hold. Each service with waiters is looked at every `pollMs` (a look at a
 * watched service is a read of memory), and `notify` wakes them at once when
 * a request sees the change first. A waiter ends exactly once: changed, timed
 * out, its client gone (its signal), or `close`.
 *
 * @example
 * const changed = await waiters.wait('orders', 1234, 30_000, request.signal);
 */
export class Waiters {
  readonly #o: WaitersOptions;
  readonly #byService = new Map<string, Set<Waiter>>();
  readonly #checking = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: WaitersOptions) {
    this.#o = options;
  }

  /** Waiters held now. */
  get size(): number {
    let n = 0;
    for (const set of this.#byService.values()) n += set.size;
    return n;
  }

  /** Resolves true once `service` is at another revision than `revision`; false at the end of `ms`, on abort or on close. */
  wait(service: string, revision: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), ms);
      const onAbort = (): void => settle(false);
      const waiter: Waiter = { revision, settle: (changed) => settle(changed) };
      const settle = (changed: boolean): void => {
        const set = this.#byService.get(service);
        if (!set?.delete(waiter)) return;
        if (set.size === 0) this.#byService.delete(service);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#byService.size === 0) this.#stopPolling();
        resolve(changed);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.#byService.get(service);
      if (!set) this.#byService.set(service, (set = new Set()));
      set.add(waiter);
      this.#timer ??= setInterval(() => this.#poll(), this.#o.pollMs);
    });
  }

  /** `service` is at `revision` now: wakes its waiters that hold another. */
  notify(service: string, revision: number): void {
    const set = this.#byService.get(service);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.revision !== revision) waiter.settle(true);
  }

  /** Ends every wait (unchanged), as on shutdown: clients are told at once and may ask another relay. */
  close(): void {
    for (const set of [...this.#byService.values()]) for (const waiter of [...set]) waiter.settle(false);
    this.#stopPolling();
  }

  #poll(): void {
    for (const service of this.#byService.keys()) {
      if (this.#checking.has(service)) continue;
      this.#checking.add(service);
      Promise.resolve()
        .then(() => this.#o.check(service))
        .then(
          (revision) => revision !== undefined && this.notify(service, revision),
          () => undefined,
        )
        .finally(() => this.#checking.delete(service));
    }
  }

  #stopPolling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
