import { EtcdUnavailableError } from './errors.js';
import { Rotation } from './rotation.js';

/** Raised inside an attempt when the endpoint, not the request, is at fault. */
export class EndpointFailure extends Error {
  override name = 'EndpointFailure';
  /** False only when the request provably never reached the server. */
  readonly maybeSent: boolean;
  /** False when another attempt at the same endpoint would fail the same way: it is not tried twice in one call. */
  readonly transient: boolean;
  constructor(cause: unknown, maybeSent = true, transient = true) {
    super('endpoint failed', { cause });
    this.maybeSent = maybeSent;
    this.transient = transient;
  }

  /**
   * The endpoint as given cannot serve any call: it redirects, or is on a port
   * fetch refuses. Nothing was applied (etcd never answers a redirect; a proxy
   * that does has not passed the request on), so a write may move on too.
   */
  static misconfigured(cause: unknown): EndpointFailure {
    return new EndpointFailure(cause, false, false);
  }
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /**
   * A write that etcd may have applied is not sent again: after a failure
   * that might have reached the server it ends the call (outcome unknown).
   */
  write?: boolean;
}

export interface EndpointPoolOptions {
  /** How long a failed endpoint is tried only after the others. */
  cooldownMs: number;
  random?: () => number;
  now?: () => number;
}

/**
 * The etcd members a client talks to. It starts at a random one, stays with an
 * endpoint while it answers, and on a failure moves on and sets the failed one
 * aside for `cooldownMs` (it is still tried last, so a blip on every member at
 * once does not block calls for the whole cooldown).
 */
export class EndpointPool {
  readonly urls: readonly string[];
  readonly #rotation: Rotation;

  constructor(urls: readonly string[], options: EndpointPoolOptions) {
    if (urls.length === 0) throw new TypeError('at least one etcd endpoint is required');
    this.urls = urls.map(normalizeEndpoint);
    this.#rotation = new Rotation(this.urls.length, options);
  }

  /**
   * Runs `attempt` against endpoints in order until one succeeds. Only an
   * `EndpointFailure` moves on to the next endpoint; any other error is the
   * answer and is thrown as is.
   */
  async run<T>(attempt: (url: string) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { signal } = options;
    let lastCause: unknown;
    const order = this.#rotation.order();
    const settled = new Set<number>();
    let attempts = 0;
    for (const index of order) {
      if (settled.has(index)) continue;
      signal?.throwIfAborted();
      attempts += 1;
      try {
        const result = await attempt(this.urls[index]!);
        this.#rotation.answered(index);
        return result;
      } catch (error) {
        if (!(error instanceof EndpointFailure)) throw error;
        signal?.throwIfAborted();
        lastCause = error.cause;
        if (!error.transient) settled.add(index);
        this.markDown(this.urls[index]!);
        if (options.write && error.maybeSent) {
          throw new EtcdUnavailableError(new Set(order.slice(0, attempts)).size, attempts, lastCause, true);
        }
      }
    }
    throw new EtcdUnavailableError(new Set(order).size, attempts, lastCause, false);
  }

  /** Sets an endpoint aside for the cooldown (a watch stream on it failed). */
  markDown(url: string): void {
    const index = this.urls.indexOf(url);
    if (index >= 0) this.#rotation.setAside(index);
  }
}

/** Validates an endpoint URL and drops a trailing slash; credentials in it are refused. */
export function normalizeEndpoint(raw: string): string {
  // The raw text is never echoed: a mistyped URL may carry a password.
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new TypeError('invalid etcd endpoint URL: expected http(s)://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`etcd endpoint must be http(s), not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new TypeError('etcd endpoint URLs must not contain credentials; use the username and password options');
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

