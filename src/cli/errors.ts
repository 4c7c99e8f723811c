import { EtcdError, EtcdUnavailableError } from '../etcd/index.js';

/** Bad command-line arguments: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One line that says what went wrong, without a stack trace or a credential. */
export function describeError(error: unknown, endpoints: readonly string[]): string {
  if (error instanceof EtcdUnavailableError) {
    const why = networkReason(error.cause);
    return `cannot reach etcd at ${endpoints.join(', ')}${why ? ` (${why})` : ''}`;
  }
  if (error instanceof EtcdError) return /^etcd/i.test(error.message) ? error.message : `etcd: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ETCD_TIMEOUT: 'timed out',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted certificate: pass --cacert',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted certificate: pass --cacert',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted certificate: pass --cacert',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the host',
};

/** The first recognizable cause in a chain of errors. */
function networkReason(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REASONS[code]) return REASONS[code];
    if (/certificate|handshake|alert/i.test(e.message)) return `TLS: ${e.message}`;
  }
  return undefined;
}
