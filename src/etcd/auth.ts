import { within } from './deadline.js';
import { EtcdError } from './errors.js';

/**
 * How long refused credentials are remembered. Each refused login costs etcd
 * a bcrypt comparison and a log line, and a password does not fix itself, so
 * callers in the meantime fail at once with the same error.
 */
const REFUSED_HOLD_MS = 5_000;

/**
 * Holds the etcd auth token. One login runs at a time however many calls find
 * the token missing or stale; the password is only ever placed in the login
 * request body.
 */
export class TokenSource {
  #token: string | undefined;
  #login: Promise<string> | undefined;
  #loginStartedAt = 0;
  #refused: { error: EtcdError; until: number } | undefined;
  readonly #authenticate: () => Promise<string>;
  readonly #boundMs: number;

  /**
   * `boundMs`: the longest a caller waits on the shared login, and the age
   * after which a login still in flight is given up. On Workers a login whose
   * request the runtime ended never settles; without the bound every later
   * call would join it and wait for ever.
   */
  constructor(authenticate: () => Promise<string>, boundMs = 15_000) {
    this.#authenticate = authenticate;
    this.#boundMs = boundMs;
  }

  /** The current token, logging in first if there is none. */
  token(): Promise<string> {
    return this.#token === undefined ? this.#loginOnce() : Promise.resolve(this.#token);
  }

  /**
   * Replaces `stale` with a fresh token. When another caller already replaced
   * it, that token is returned without a second login.
   */
  refresh(stale: string): Promise<string> {
    if (this.#token !== undefined && this.#token !== stale) return Promise.resolve(this.#token);
    this.#token = undefined;
    return this.#loginOnce();
  }

  #loginOnce(): Promise<string> {
    const now = Date.now();
    if (this.#refused && now < this.#refused.until) return Promise.reject(this.#refused.error);
    if (this.#login !== undefined && now - this.#loginStartedAt >= this.#boundMs) this.#login = undefined;
    const login = (this.#login ??= this.#startLogin(now));
    // Each caller's timer is its own, so it fires in the caller's request even when the login's request is gone.
    return within(login, this.#loginStartedAt + this.#boundMs - now, () => new EtcdError('ETCD_TIMEOUT', `the etcd login did not settle within ${this.#boundMs} ms`, { retryable: true }));
  }

  #startLogin(now: number): Promise<string> {
    this.#loginStartedAt = now;
    const login: Promise<string> = this.#authenticate()
      .then(
        (token) => {
          this.#token = token;
          this.#refused = undefined;
          return token;
        },
        (error: unknown) => {
          if (error instanceof EtcdError && error.code === 'ETCD_AUTH_FAILED') this.#refused = { error, until: Date.now() + REFUSED_HOLD_MS };
          throw error;
        },
      )
      .finally(() => {
        // A login given up for its age may settle after a newer one started: that one stays.
        if (this.#login === login) this.#login = undefined;
      });
    return login;
  }
}
