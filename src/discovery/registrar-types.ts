import type { LayoutChoice, Registration } from '../registry/index.js';

/** Why a registration was lost. */
export type LossReason =
  /** A keepalive answered that the lease no longer exists. */
  | 'lease-expired'
  /** The key was deleted (by hand, or with its lease). */
  | 'key-deleted'
  /** Another lease (or none) now holds the key. */
  | 'key-taken'
  /** No keepalive got through for a whole TTL: the lease has expired. */
  | 'unreachable';

export type RegistrarEvent =
  | { type: 'registered'; key: string; leaseId: string; revision: number }
  | { type: 'updated'; key: string; value: string }
  /** The first keepalive that failed since the last one that worked. */
  | { type: 'keepalive-failed'; error: unknown }
  | { type: 'keepalive-recovered' }
  | { type: 'lost'; reason: LossReason }
  | { type: 'retry-failed'; attempt: number; error: unknown }
  | { type: 're-registered'; key: string; leaseId: string; attempts: number }
  | { type: 'gave-up'; attempts: number; error: unknown }
  | { type: 'closed' };

export interface RetryOptions {
  /** Wait before each re-registration attempt (ms). Default TTL/5, at least 1 s. */
  retryDelayMs?: number;
  /** While registered, check that the key is still ours this often (ms). Default TTL/2. */
  observeDelayMs?: number;
  /** Give up after this many failed attempts in a row; 0 tries forever. Default 0. */
  maxAttempts?: number;
  /**
   * Per-attempt deadline (ms) of each keepalive and of each call of a
   * re-registration, so a stalled connection fails in time to be noticed
   * within the TTL and a re-registration started during a stall does not hang
   * after it. Default TTL/3, between 1 and 5 s.
   */
  requestTimeoutMs?: number;
}

export interface RegisterOptions extends Registration {
  /** Lease TTL in seconds (etcd may raise it to its minimum). Default 10. */
  ttl?: number;
  /** A layout or its name (`'kitex'`); default native with prefix `services/`. */
  layout?: LayoutChoice;
  retry?: RetryOptions;
  /** Told about every state change. A listener that throws is ignored. */
  onEvent?: (event: RegistrarEvent) => void;
  /** Aborts the first registration (register() rejects); no effect once registered. */
  signal?: AbortSignal;
}

export type RegistrationState = 'registered' | 'lost' | 'gave-up' | 'closed';

/** A live registration. */
export interface RegisteredInstance {
  readonly key: string;
  readonly id: string;
  /** The current lease; changes after a re-registration. */
  readonly leaseId: string;
  readonly state: RegistrationState;
  /** Rewrites weight, tags or metadata under the same lease (weight 0 drains). */
  update(changes: Pick<Registration, 'weight' | 'tags' | 'metadata'>): Promise<void>;
  /** Deletes the key and revokes the lease; safe to call more than once. */
  close(): Promise<void>;
  /** Settles when the registration gave up (rejects with the last error) or was closed. */
  readonly done: Promise<void>;
}
