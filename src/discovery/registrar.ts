import { leaseIdHex, sleep, type CallOptions, type EtcdClient } from '../etcd/index.js';
import { toLayout, type EncodedRecord, type KeyLayout, type Registration } from '../registry/index.js';
import { claimKey, releaseKey, revokeQuietly, rewriteKey } from './claim.js';
import { guardRegistration } from './guard.js';
import type { RegisteredInstance, RegisterOptions, RegistrarEvent, RegistrationState } from './registrar-types.js';

/**
 * Registers an instance: grants a lease, writes the key with it (only if no
 * other live registration holds it), and keeps it there: keepalives, a watch on
 * the key, periodic reads, and re-registration after a loss.
 *
 * @example
 * const instance = await register(etcd, { service: 'orders', url: 'http://10.0.0.5:8080', weight: 5 });
 * await instance.update({ weight: 0 }); // drain
 * await instance.close();
 */
export async function register(etcd: EtcdClient, options: RegisterOptions): Promise<RegisteredInstance> {
  const registration = new LeasedRegistration(etcd, options);
  await registration.start(options.signal);
  return registration;
}

class LeasedRegistration implements RegisteredInstance {
  readonly key: string;
  readonly id: string;
  readonly done: Promise<void>;
  #etcd: EtcdClient;
  #layout: KeyLayout;
  #desired: Registration;
  #record: EncodedRecord;
  #ttl: number;
  #retryDelayMs: number;
  #observeDelayMs: number;
  #maxAttempts: number;
  #requestTimeoutMs: number;
  #emit: (event: RegistrarEvent) => void;
  #leaseId = '0';
  #revision = 0;
  #state: RegistrationState = 'lost';
  #stop = new AbortController();
  /** Writes run one at a time, so a close never races an update or a re-registration. */
  #writes: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #settle!: (error?: unknown) => void;

  constructor(etcd: EtcdClient, options: RegisterOptions) {
    const { ttl = 10, layout: choice = 'native', retry = {}, onEvent, signal: _signal, ...registration } = options;
    const layout = toLayout(choice);
    if (!Number.isInteger(ttl) || ttl < 1) throw new RangeError(`ttl must be a whole number of seconds >= 1, got ${ttl}`);
    this.#etcd = etcd;
    this.#layout = layout;
    this.#desired = registration;
    this.#record = layout.encode(registration);
    this.key = this.#record.key;
    this.id = this.#record.id;
    this.#ttl = ttl;
    this.#retryDelayMs = retry.retryDelayMs ?? Math.max(1_000, (ttl * 1_000) / 5);
    this.#observeDelayMs = retry.observeDelayMs ?? (ttl * 1_000) / 2;
    this.#maxAttempts = retry.maxAttempts ?? 0;
    this.#requestTimeoutMs = retry.requestTimeoutMs ?? Math.min(5_000, Math.max(1_000, (ttl * 1_000) / 3));
    this.#emit = (event) => {
      try {
        onEvent?.(event);
      } catch {
        // A listener's bug must not stop the registration that reports to it.
      }
    };
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    this.done.catch(() => undefined);
  }

  get leaseId(): string {
    return this.#leaseId;
  }

  get state(): RegistrationState {
    return this.#state;
  }

  async start(signal: AbortSignal | undefined): Promise<void> {
    await this.#claim({ signal: signal ? AbortSignal.any([signal, this.#stop.signal]) : this.#stop.signal });
    this.#emit({ type: 'registered', key: this.key, leaseId: this.#leaseId, revision: this.#revision });
    void this.#supervise();
  }

  async update(changes: Pick<Registration, 'weight' | 'tags' | 'metadata'>): Promise<void> {
    const desired = { ...this.#desired, ...changes };
    const record = this.#layout.encode(desired);
    await this.#serial(async () => {
      if (this.#state === 'closed') throw new Error(`${this.key} is closed`);
      this.#desired = desired;
      this.#record = record;
      if (this.#state === 'registered' && !(await rewriteKey(this.#etcd, this.key, record.value, this.#leaseId))) {
        throw new Error(`${this.key} is no longer held by lease ${leaseIdHex(this.#leaseId)}; it will be registered again with the update`);
      }
      this.#emit({ type: 'updated', key: this.key, value: record.value });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state !== 'closed') {
      this.#state = 'closed';
      this.#stop.abort();
      this.#settle();
    }
    try {
      await this.#serial(() => (this.#leaseId === '0' ? undefined : releaseKey(this.#etcd, this.key, this.#leaseId)));
    } catch (error) {
      this.#closing = undefined; // let the caller try again
      throw error;
    }
    this.#emit({ type: 'closed' });
  }

  /**
   * Grants a lease and claims the key with it; on failure the new lease is
   * revoked. The cleanup revokes share the call's deadline but not its
   * signal: they run after a failure or an abort.
   */
  #claim(call: CallOptions & { signal: AbortSignal }): Promise<void> {
    const cleanup: CallOptions = call.timeoutMs === undefined ? {} : { timeoutMs: call.timeoutMs };
    return this.#serial(async () => {
      if (this.#state === 'closed') throw new Error(`${this.key} is closed`);
      const { id } = await this.#etcd.leaseGrant(this.#ttl, call);
      const previous = this.#leaseId;
      try {
        this.#revision = await claimKey(this.#etcd, this.key, this.#record.value, id, previous === '0' ? [] : [previous], call);
      } catch (error) {
        await revokeQuietly(this.#etcd, id, cleanup).catch(() => undefined);
        throw error;
      }
      this.#leaseId = id;
      if (!this.#stop.signal.aborted) this.#state = 'registered';
      if (previous !== '0') await revokeQuietly(this.#etcd, previous, cleanup).catch(() => undefined);
    });
  }

  async #supervise(): Promise<void> {
    while (this.#state === 'registered') {
      const reason = await guardRegistration(this.#etcd, {
        key: this.key,
        leaseId: this.#leaseId,
        revision: this.#revision,
        ttlMs: this.#ttl * 1_000,
        observeDelayMs: this.#observeDelayMs,
        requestTimeoutMs: this.#requestTimeoutMs,
        signal: this.#stop.signal,
        emit: this.#emit,
      });
      if (reason === undefined || this.#state !== 'registered') return;
      this.#state = 'lost';
      this.#emit({ type: 'lost', reason });
      await this.#recover();
    }
  }

  async #recover(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!(await sleep(this.#retryDelayMs, this.#stop.signal))) return;
      try {
        await this.#claim({ signal: this.#stop.signal, timeoutMs: this.#requestTimeoutMs });
        this.#emit({ type: 're-registered', key: this.key, leaseId: this.#leaseId, attempts: attempt });
        return;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        this.#emit({ type: 'retry-failed', attempt, error });
        if (this.#maxAttempts > 0 && attempt >= this.#maxAttempts) {
          this.#state = 'gave-up';
          this.#emit({ type: 'gave-up', attempts: attempt, error });
          this.#settle(error);
          return;
        }
      }
    }
  }

  #serial<T>(write: () => Promise<T> | T): Promise<T> {
    const result = this.#writes.then(write);
    this.#writes = result.catch(() => undefined);
    return result;
  }
}
