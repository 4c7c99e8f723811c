export { EtcdClient, type EtcdClientOptions } from './client.js';
export {
  compareBytes,
  equalBytes,
  fromBase64,
  jsonBytes,
  parseJson,
  prefixEnd,
  toBase64,
  toBytes,
  utf8,
  type Bytes,
} from './bytes.js';
export { endpointPortProblem } from './bad-ports.js';
export {
  EtcdBadPortError,
  EtcdCompactedError,
  EtcdError,
  EtcdLeaseNotFoundError,
  EtcdProtocolError,
  EtcdRedirectError,
  EtcdUnavailableError,
  type EtcdErrorCode,
} from './errors.js';
export { within } from './deadline.js';
export { leaseIdHex } from './lease-id.js';
export { failureReason, type FailureReason, type FailureSubject } from './failure-reason.js';
export type { LeaseGrant, LeaseKeepAlive, LeaseTimeToLive } from './lease.js';
export { compare, op, type Compare, type CompareResult, type TxnOp, type TxnOpResult, type TxnRequest, type TxnResult } from './txn.js';
export type { FetchLike } from './transport.js';
export type * from './types.js';
export { sleep } from './sleep.js';
export { Rotation } from './rotation.js';
