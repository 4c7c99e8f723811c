import { EtcdError } from './errors.js';

/**
 * One attempt's abort signal: aborted by the caller's signal or by the
 * attempt's own timeout. The caller's signal is linked by a listener that
 * `release` removes (AbortSignal.any retains memory per call on Node 20 when
 * the caller's signal lives long, such as a server's shutdown signal).
 */
export class Deadline {
  readonly signal: AbortSignal;
  #controller = new AbortController();
  #caller: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  #onAbort = (): void => this.#controller.abort(this.#caller?.reason);

  constructor(caller: AbortSignal | undefined, timeoutMs: number) {
    this.signal = this.#controller.signal;
    this.#caller = caller;
    if (caller?.aborted) this.#controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new EtcdError('ETCD_TIMEOUT', `etcd did not answer within ${timeoutMs} ms`, { retryable: true }));
    }, timeoutMs);
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The error to report for a failed fetch or body read. */
  explain(cause: unknown): unknown {
    return this.#timedOut ? this.#controller.signal.reason : cause;
  }

  /** Stops the timer; the caller's signal still aborts (a stream being read). */
  stopTimer(): void {
    clearTimeout(this.#timer);
  }

  /** Stops the timer and unlinks the caller's signal. */
  release(): void {
    this.stopTimer();
    this.#caller?.removeEventListener('abort', this.#onAbort);
  }
}

/** Waits for `promise`, or rejects with the signal's reason when it aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * `shared` as one waiter sees it: its outcome, or `timeout()` once `ms` have
 * passed. The timer is the waiter's own, so on Workers it runs in the waiting
 * request, and fires even when what it waits on belonged to a request the
 * runtime has already ended (its I/O then never settles).
 */
export function within<T>(shared: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout()), ms);
    shared.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
