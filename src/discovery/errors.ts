import { leaseIdHex } from '../etcd/index.js';

/** The key is held by another live registration (another lease, or none). Not retryable. */
export class RegistrationConflictError extends Error {
  override readonly name = 'RegistrationConflictError';
  readonly code = 'REGISTRATION_CONFLICT';
  readonly retryable = false;
  readonly key: string;
  /** The lease holding the key, `"0"` for a key without one. */
  readonly holder: string;

  constructor(key: string, holder: string) {
    super(
      holder === '0'
        ? `${key} is already registered without a lease; remove it (etcd-edge deregister) before registering`
        : `${key} is already registered by another process (lease ${leaseIdHex(holder)}); use another id or stop that process`,
    );
    this.key = key;
    this.holder = holder;
  }
}

/** Stable codes of a relay read's failures. */
export type RelayErrorCode =
  | 'RELAY_UNAVAILABLE'
  | 'RELAY_TIMEOUT'
  | 'RELAY_UNAUTHORIZED'
  | 'RELAY_BAD_REQUEST'
  | 'RELAY_RATE_LIMITED'
  | 'RELAY_ETCD_UNAVAILABLE'
  | 'RELAY_PROTOCOL';

/**
 * A snapshot relay could not be read. `retryable` says whether another relay
 * URL (or a later try) may answer: a refused token is not. Messages name the
 * relay's origin at most, never the token.
 */
export class RelayError extends Error {
  override name = 'RelayError';
  readonly code: RelayErrorCode;
  readonly retryable: boolean;
  /** HTTP status of the relay's answer, when there was one. */
  readonly status: number | undefined;
  /** How long the relay asked not to be called again (`Retry-After`), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(code: RelayErrorCode, message: string, options: { retryable?: boolean; status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? true;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Every relay URL failed; `cause` is the last failure. */
export class RelayUnavailableError extends RelayError {
  override name = 'RelayUnavailableError';
  /** How many requests were made in all. */
  readonly attempts: number;

  constructor(attempts: number, cause: unknown) {
    const detail = cause instanceof RelayError ? `; last error: ${cause.code}` : '';
    super('RELAY_UNAVAILABLE', `snapshot relay unavailable: ${attempts} attempt(s)${detail}`, { cause });
    this.attempts = attempts;
  }
}
