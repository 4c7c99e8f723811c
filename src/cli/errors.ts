import { EtcdError, EtcdUnavailableError, failureReason, type FailureSubject } from '../etcd/index.js';

/** Bad command-line arguments: one line and a pointer to `--help`, exit code 2. */
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

/** The flags that set what a failure is about. */
const FLAGS: Record<FailureSubject, string | undefined> = {
  network: undefined,
  'server-certificate': 'check --cacert',
  'client-certificate': 'check --cert and --key',
};

function networkReason(error: unknown): string | undefined {
  const reason = failureReason(error);
  if (!reason) return undefined;
  const flags = FLAGS[reason.about];
  return flags ? `${reason.text}: ${flags}` : reason.text;
}
