import { EtcdError } from '../etcd/index.js';

/**
 * The etcd client's default deadline of one request (ms); a read of a
 * service shared by several lookups is given as long.
 */
export const DEFAULT_REFRESH_TIMEOUT_MS = 5_000;

/** The error a lookup gets when the read it waits on has not settled within the bound. */
export function refreshTimeout(service: string, ms: number): EtcdError {
  return new EtcdError('ETCD_TIMEOUT', `no read of ${service} from etcd settled within ${ms} ms`, { retryable: true });
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
