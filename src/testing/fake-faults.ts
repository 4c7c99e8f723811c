/**
 * Faults one endpoint of the fake can show. Mutate the object returned by
 * `FakeEtcd.faults(url)`; changes apply to the next request.
 */
export interface EndpointFaults {
  /** Requests fail as if the connection were refused. */
  down: boolean;
  /** Every answer waits this long first (ms); aborting the request ends the wait. */
  delayMs: number;
  /** The next `times` requests get this HTTP status, with an etcd JSON error or an HTML page. */
  failNext?: { status: number; times: number; body?: 'json' | 'html' };
}

export function noFaults(): EndpointFaults {
  return { down: false, delayMs: 0 };
}

/** Thrown by the fake's handler when the request must fail at the network level. */
export class FakeNetworkError extends TypeError {
  constructor(url: string) {
    super(`fetch failed: connection refused (${url})`, { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal: AbortSignal | undefined | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
