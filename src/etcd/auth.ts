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
  #refused: { error: EtcdError; until: number } | undefined;
  #authenticate: () => Promise<string>;

  constructor(authenticate: () => Promise<string>) {
    this.#authenticate = authenticate;
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
    if (this.#refused && Date.now() < this.#refused.until) return Promise.reject(this.#refused.error);
    this.#login ??= this.#authenticate()
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
        this.#login = undefined;
      });
    return this.#login;
  }
}
