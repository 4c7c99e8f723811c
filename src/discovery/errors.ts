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
