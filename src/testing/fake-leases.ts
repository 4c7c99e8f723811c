/**
 * The fake's leases. Expiry runs on `setTimeout`, so tests may drive it with
 * fake timers; an expired lease deletes its keys in one revision, as etcd does.
 */
export interface FakeLease {
  id: string;
  grantedTtl: number;
  expiresAt: number;
  keys: Set<string>;
}

/** etcd refuses TTLs under its minimum and raises them to it. */
const MIN_TTL_SECONDS = 2;

export class FakeLeases {
  #leases = new Map<string, FakeLease>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #onExpire: (lease: FakeLease) => void;

  constructor(onExpire: (lease: FakeLease) => void) {
    this.#onExpire = onExpire;
  }

  get(id: string): FakeLease | undefined {
    return this.#leases.get(id);
  }

  ids(): string[] {
    return [...this.#leases.keys()];
  }

  grant(ttlSeconds: number, requestedId: string | undefined): FakeLease | 'exists' {
    const id = requestedId && requestedId !== '0' ? requestedId : randomLeaseId();
    if (this.#leases.has(id)) return 'exists';
    const grantedTtl = Math.max(ttlSeconds, MIN_TTL_SECONDS);
    const lease: FakeLease = { id, grantedTtl, expiresAt: 0, keys: new Set() };
    this.#leases.set(id, lease);
    this.renew(lease);
    return lease;
  }

  renew(lease: FakeLease): void {
    lease.expiresAt = Date.now() + lease.grantedTtl * 1000;
    clearTimeout(this.#timers.get(lease.id));
    this.#timers.set(
      lease.id,
      setTimeout(() => this.#expire(lease.id), lease.grantedTtl * 1000),
    );
  }

  /** Seconds left, rounded down as etcd reports them. */
  remaining(lease: FakeLease): number {
    return Math.max(0, Math.floor((lease.expiresAt - Date.now()) / 1000));
  }

  remove(id: string): FakeLease | undefined {
    const lease = this.#leases.get(id);
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    this.#leases.delete(id);
    return lease;
  }

  /** Stops every expiry timer (the fake is being discarded). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #expire(id: string): void {
    const lease = this.remove(id);
    if (lease) this.#onExpire(lease);
  }
}

/** A random positive 63-bit lease ID as a decimal string, like etcd's. */
function randomLeaseId(): string {
  const words = crypto.getRandomValues(new Uint32Array(2));
  const id = ((BigInt(words[0]! & 0x7fffffff) << 32n) | BigInt(words[1]!)) || 1n;
  return id.toString();
}
