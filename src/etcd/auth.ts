/**
 * Holds the etcd auth token. One login runs at a time however many calls find
 * the token missing or stale; the password is only ever placed in the login
 * request body.
 */
export class TokenSource {
  #token: string | undefined;
  #login: Promise<string> | undefined;
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
    this.#login ??= this.#authenticate()
      .then((token) => {
        this.#token = token;
        return token;
      })
      .finally(() => {
        this.#login = undefined;
      });
    return this.#login;
  }
}
