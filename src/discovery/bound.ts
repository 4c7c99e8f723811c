import { EtcdError } from '../etcd/index.js';

export { within } from '../etcd/index.js';

/**
 * The etcd client's default deadline of one request (ms); a read of a
 * service shared by several lookups is given as long.
 */
export const DEFAULT_REFRESH_TIMEOUT_MS = 5_000;

/** The error a lookup gets when the read it waits on has not settled within the bound. */
export function refreshTimeout(service: string, ms: number): EtcdError {
  return new EtcdError('ETCD_TIMEOUT', `no read of ${service} from etcd settled within ${ms} ms`, { retryable: true });
}
