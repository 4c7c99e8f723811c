export type RegistryErrorCode = 'INVALID_SERVICE' | 'INVALID_ADDRESS' | 'INVALID_REGISTRATION' | 'INVALID_LAYOUT';

/** A registration or lookup that cannot be expressed in a key layout. Never retryable. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly retryable = false;

  constructor(code: RegistryErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
