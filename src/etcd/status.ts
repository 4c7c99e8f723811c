import { EtcdError, type EtcdErrorCode } from './errors.js';

/** gRPC status codes as etcd reports them (numeric, or by name in watch cancel reasons). */
const GRPC_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound',
  'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition',
  'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
] as const;

export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_NOT_FOUND = 5;

const TABLE: Record<number, { code: EtcdErrorCode; retryable: boolean }> = {
  1: { code: 'ETCD_SERVER_ERROR', retryable: true },
  2: { code: 'ETCD_SERVER_ERROR', retryable: true },
  3: { code: 'ETCD_INVALID_ARGUMENT', retryable: false },
  4: { code: 'ETCD_TIMEOUT', retryable: true },
  5: { code: 'ETCD_NOT_FOUND', retryable: false },
  6: { code: 'ETCD_FAILED_PRECONDITION', retryable: false },
  7: { code: 'ETCD_PERMISSION_DENIED', retryable: false },
  8: { code: 'ETCD_RESOURCE_EXHAUSTED', retryable: true },
  9: { code: 'ETCD_FAILED_PRECONDITION', retryable: false },
  10: { code: 'ETCD_SERVER_ERROR', retryable: true },
  11: { code: 'ETCD_REVISION_OUT_OF_RANGE', retryable: false },
  12: { code: 'ETCD_SERVER_ERROR', retryable: false },
  13: { code: 'ETCD_SERVER_ERROR', retryable: true },
  14: { code: 'ETCD_UNAVAILABLE', retryable: true },
  15: { code: 'ETCD_SERVER_ERROR', retryable: false },
  16: { code: 'ETCD_UNAUTHENTICATED', retryable: true },
};

/** The gRPC status number for a name such as `Unauthenticated`, or undefined. */
export function grpcCodeByName(name: string): number | undefined {
  const index = (GRPC_NAMES as readonly string[]).indexOf(name);
  return index < 0 ? undefined : index;
}

/**
 * The two auth cases etcd documents by message only: a stale token after the
 * auth store changed, and a token that expired or never existed.
 */
export function isStaleTokenError(grpcCode: number, message: string): boolean {
  if (grpcCode === GRPC_UNAUTHENTICATED) return message.includes('invalid auth token');
  return grpcCode === GRPC_INVALID_ARGUMENT && message.includes('revision of auth store is old');
}

/** Maps an etcd error status to a typed error. The message is etcd's own. */
export function errorFromStatus(grpcCode: number, message: string, status?: number): EtcdError {
  const entry = TABLE[grpcCode] ?? { code: 'ETCD_SERVER_ERROR' as const, retryable: true };
  const options = { retryable: entry.retryable, grpcCode, ...(status === undefined ? {} : { status }) };
  if (grpcCode === GRPC_INVALID_ARGUMENT && message.includes('authentication failed')) {
    return new EtcdError('ETCD_AUTH_FAILED', 'etcd rejected the username or password', options);
  }
  if (grpcCode === GRPC_INVALID_ARGUMENT && message.includes('user name is empty')) {
    return new EtcdError('ETCD_UNAUTHENTICATED', 'etcd requires authentication: set a username and password', options);
  }
  return new EtcdError(entry.code, `etcd: ${message || GRPC_NAMES[grpcCode] || 'error'}`, options);
}
