export interface FakeAuthOptions {
  /** User name → password. */
  users: Record<string, string>;
  /** How long a token is valid, in ms (etcd's `--auth-token-ttl`; default 300 s). */
  tokenTtlMs?: number;
}

export type TokenCheck = 'ok' | 'missing' | 'invalid';

/** The fake's simple-token auth: every authenticated user may do everything. */
export class FakeAuth {
  #users: Record<string, string>;
  #ttlMs: number;
  #tokens = new Map<string, number>();
  #issued = 0;

  constructor(options: FakeAuthOptions) {
    this.#users = { ...options.users };
    this.#ttlMs = options.tokenTtlMs ?? 300_000;
  }

  authenticate(name: string, password: string): string | undefined {
    if (!Object.hasOwn(this.#users, name) || this.#users[name] !== password) return undefined;
    const random = crypto.getRandomValues(new Uint8Array(8));
    const token = `${[...random].map((b) => b.toString(16).padStart(2, '0')).join('')}.${++this.#issued}`;
    this.#tokens.set(token, Date.now() + this.#ttlMs);
    return token;
  }

  check(token: string | null): TokenCheck {
    if (token === null || token === '') return 'missing';
    const expiresAt = this.#tokens.get(token);
    if (expiresAt === undefined) return 'invalid';
    if (expiresAt <= Date.now()) {
      this.#tokens.delete(token);
      return 'invalid';
    }
    // etcd's simple tokens are extended on use.
    this.#tokens.set(token, Date.now() + this.#ttlMs);
    return 'ok';
  }

  /** Invalidates every token, as if all of them expired. */
  expireTokens(): void {
    this.#tokens.clear();
  }

  /** How many logins succeeded so far. */
  get logins(): number {
    return this.#issued;
  }
}
