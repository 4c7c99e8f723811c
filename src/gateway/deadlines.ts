/**
 * Timeouts for what almost never times out: an attempt's wait for its
 * answer's headers is armed and disarmed once per request, and expires only
 * when an instance hangs. `TIMERS` gives each its own timer (exact; what
 * Workers need, whose timers belong to one request). `SweptDeadlines`, on
 * Node, checks every long one from a single ticking timer, so arming and
 * disarming cost an array push and a swap instead of a `setTimeout` and a
 * `clearTimeout` (Node allocates and links a timer object for each).
 */

/** What waits for a deadline: `expire` is called once when it passes, unless disarmed first. */
export interface Expiring {
  expire(): void;
  /** The scheduler's record of this entry (a timer, or the tick it is due at): only a `Deadlines` reads or writes it. */
  deadlineSlot: unknown;
}

export interface Deadlines {
  /** Calls `entry.expire()` once `ms` have passed (a swept entry up to a tick later), unless disarmed first. */
  arm(entry: Expiring, ms: number): void;
  /** Cancels the entry's deadline; harmless when it is not armed. */
  disarm(entry: Expiring): void;
}

/** A timer of its own for each deadline. */
export const TIMERS: Deadlines = {
  arm(entry, ms) {
    entry.deadlineSlot = setTimeout(fire, ms, entry);
  },
  disarm(entry) {
    const timer = entry.deadlineSlot;
    if (timer === undefined) return;
    entry.deadlineSlot = undefined;
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

const fire = (entry: Expiring): void => {
  entry.deadlineSlot = undefined;
  entry.expire();
};

export interface SweptDeadlinesOptions {
  /** How often armed deadlines are checked (ms); default 100. */
  tickMs?: number;
  /** Deadlines shorter than this get a timer of their own, since a tick late would matter to them (ms); default 1,000. */
  minMs?: number;
  /** Told when an entry's `expire` throws; the others still expire. Default `console.error`. */
  onError?: (error: unknown) => void;
}

/** The timer of a short deadline on a sweep: boxed, so the slot never holds a bare timer id a runtime may give as a number. */
class OwnTimer {
  constructor(readonly timer: ReturnType<typeof setTimeout>) {}
}

/** The slot of an entry taken off the sweep to expire: `disarm` or `arm` before its turn clears it, and it is skipped. */
const DUE = Symbol('due');

/**
 * Deadlines of a second or more checked by one timer, which ticks every
 * `tickMs` while any is armed and is unref'd (it never keeps a process up).
 * Each entry keeps the time it is due (`performance.now`), and a tick expires
 * those whose time has come: never early, late by at most one tick plus
 * however late the event loop ran the tick (as a `setTimeout` would be).
 * Armed entries sit in an array, their slot holding their index there, so
 * disarming swaps the last one into the gap at once: a finished request is
 * not kept alive until the next tick (holding thousands of them made
 * young-generation GC copy them, costing more than the timers saved).
 */
export class SweptDeadlines implements Deadlines {
  readonly #tickMs: number;
  readonly #minMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #armed: Expiring[] = [];
  /** When each armed entry is due (`performance.now`), by the same index. */
  readonly #dueAt: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SweptDeadlinesOptions = {}) {
    this.#tickMs = options.tickMs ?? 100;
    this.#minMs = options.minMs ?? 1_000;
    this.#onError = options.onError ?? ((error) => console.error('etcd-edge: a deadline failed to expire', error));
  }

  arm(entry: Expiring, ms: number): void {
    this.disarm(entry);
    if (ms < this.#minMs) {
      entry.deadlineSlot = new OwnTimer(setTimeout(fire, ms, entry));
      return;
    }
    entry.deadlineSlot = this.#armed.length;
    this.#armed.push(entry);
    this.#dueAt.push(performance.now() + ms);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.#tickMs);
      this.#timer.unref?.();
    }
  }

  disarm(entry: Expiring): void {
    const slot = entry.deadlineSlot;
    if (typeof slot === 'number') this.#remove(slot);
    else if (slot instanceof OwnTimer) clearTimeout(slot.timer);
    entry.deadlineSlot = undefined;
  }

  /** How many entries are armed on the sweep, for tests. */
  get size(): number {
    return this.#armed.length;
  }

  /** Takes the entry at `index` out: the last one moves into its place. */
  #remove(index: number): void {
    const armed = this.#armed;
    const dueAt = this.#dueAt;
    armed[index]!.deadlineSlot = undefined;
    const last = armed.pop()!;
    const due = dueAt.pop()!;
    if (index === armed.length) return;
    armed[index] = last;
    dueAt[index] = due;
    last.deadlineSlot = index;
  }

  #sweep(): void {
    const now = performance.now();
    const armed = this.#armed;
    let due: Expiring[] | undefined;
    // From the end, so the entry swapped into a gap has been looked at already.
    for (let i = armed.length - 1; i >= 0; i--) {
      if (this.#dueAt[i]! > now) continue;
      const entry = armed[i]!;
      this.#remove(i);
      entry.deadlineSlot = DUE;
      (due ??= []).push(entry);
    }
    if (armed.length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    // After the list is settled: an entry may arm itself again as it expires, or disarm another due one.
    if (due === undefined) return;
    for (const entry of due) {
      if (entry.deadlineSlot !== DUE) continue;
      entry.deadlineSlot = undefined;
      try {
        entry.expire();
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
