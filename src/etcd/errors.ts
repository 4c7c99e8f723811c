import { leaseIdHex } from './lease-id.js';
import { badPortText } from './bad-ports.js';

/**
 * Typed errors of the etcd client. Callers branch on `code` (stable strings)
 * and `retryable`, never on message text. Messages never contain credentials
 * or auth tokens.
 */
export type EtcdErrorCode =
  | 'ETCD_UNAVAILABLE'
  | 'ETCD_TIMEOUT'
  | 'ETCD_REDIRECT'
  | 'ETCD_BAD_PORT'
  | 'ETCD_PROTOCOL'
  | 'ETCD_AUTH_FAILED'
  | 'ETCD_UNAUTHENTICATED'
  | 'ETCD_PERMISSION_DENIED'
  | 'ETCD_LEASE_NOT_FOUND'
  | 'ETCD_COMPACTED'
  | 'ETCD_REVISION_OUT_OF_RANGE'
  | 'ETCD_INVALID_ARGUMENT'
  | 'ETCD_NOT_FOUND'
  | 'ETCD_FAILED_PRECONDITION'
  | 'ETCD_RESOURCE_EXHAUSTED'
  | 'ETCD_SERVER_ERROR';

export interface EtcdErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  /** gRPC status code reported by etcd, when it sent one. */
  grpcCode?: number;
  /** HTTP status of the response, when there was one. */
  status?: number;
}

/** Base class of every error the etcd client throws. */
export class EtcdError extends Error {
  override name = 'EtcdError';
  readonly code: EtcdErrorCode;
  readonly retryable: boolean;
  readonly grpcCode: number | undefined;
  readonly status: number | undefined;

  constructor(code: EtcdErrorCode, message: string, options: EtcdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.grpcCode = options.grpcCode;
    this.status = options.status;
  }
}

/**
 * No endpoint answered usefully. For a write, `outcomeUnknown` says the
 * request may have been applied before the failure (a timeout, a reset, a
 * 5xx), so it was not sent to another endpoint: read back before retrying
 * anything that must not happen twice.
 */
export class EtcdUnavailableError extends EtcdError {
  override name = 'EtcdUnavailableError';
  /** How many distinct endpoints were tried. */
  readonly endpoints: number;
  /** How many requests were made in all. */
  readonly attempts: number;
  readonly outcomeUnknown: boolean;

  constructor(endpoints: number, attempts: number, cause: unknown, outcomeUnknown = false) {
    const detail = cause instanceof EtcdError ? `; last error: ${cause.code}` : '';
    const unknown = outcomeUnknown ? '; the write may have been applied' : '';
    super('ETCD_UNAVAILABLE', `etcd unavailable: ${endpoints} endpoint(s) tried in ${attempts} attempt(s)${detail}${unknown}`, {
      retryable: true,
      cause,
    });
    this.endpoints = endpoints;
    this.attempts = attempts;
    this.outcomeUnknown = outcomeUnknown;
  }
}

/**
 * An endpoint answered with a redirect (any 3xx, or the opaque redirect a
 * browser-like fetch gives with `redirect: 'manual'`). etcd never redirects, so
 * something else answers at that URL; the request, credentials included, is
 * never repeated at the redirect's target. The message names the endpoint and
 * at most the target's origin (no userinfo, path or query).
 */
export class EtcdRedirectError extends EtcdError {
  override name = 'EtcdRedirectError';
  /** The endpoint's origin. */
  readonly endpoint: string;
  /** Where the redirect pointed (origin only), when fetch let it be read. */
  readonly target: string | undefined;

  constructor(endpoint: string, status: number, target: string | undefined) {
    const answer = status === 0 ? 'a redirect' : `a redirect (HTTP ${status})`;
    const to = target === undefined ? '' : ` to ${target}`;
    super('ETCD_REDIRECT', `etcd endpoint ${endpoint} answered with ${answer}${to}, which is not followed: list the etcd members' own URLs`, {
      status,
    });
    this.endpoint = endpoint;
    this.target = target;
  }
}

/** An endpoint on a port `fetch` refuses (the Fetch standard's bad ports); no request was made. */
export class EtcdBadPortError extends EtcdError {
  override name = 'EtcdBadPortError';
  readonly port: number;
  constructor(port: number) {
    super('ETCD_BAD_PORT', `etcd endpoint: ${badPortText(port)}`);
    this.port = port;
  }
}

/** A body that is not what etcd's gateway sends: not JSON, truncated, wrong shape. */
export class EtcdProtocolError extends EtcdError {
  override name = 'EtcdProtocolError';
  constructor(message: string, options: EtcdErrorOptions = {}) {
    super('ETCD_PROTOCOL', message, { retryable: true, ...options });
  }
}

/** The lease does not exist (any more): expired, revoked or never granted. */
export class EtcdLeaseNotFoundError extends EtcdError {
  override name = 'EtcdLeaseNotFoundError';
  readonly leaseId: string;
  constructor(leaseId: string, options: EtcdErrorOptions = {}) {
    super('ETCD_LEASE_NOT_FOUND', `lease ${leaseIdHex(leaseId)} not found (expired or revoked)`, options);
    this.leaseId = leaseId;
  }
}

/** The requested revision was compacted; resync from a fresh range. */
export class EtcdCompactedError extends EtcdError {
  override name = 'EtcdCompactedError';
  readonly compactRevision: number;
  constructor(compactRevision: number) {
    super('ETCD_COMPACTED', `revision compacted (compact revision ${compactRevision})`);
    this.compactRevision = compactRevision;
  }
}
