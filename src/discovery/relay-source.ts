import { Rotation, type FetchLike } from '../etcd/index.js';
import { RelayError, RelayUnavailableError } from './errors.js';
import { normalizeRelayUrl } from './relay-urls.js';
import { decodeRelayBody } from './relay-wire.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';
import { RelayWatch, type RelayReadOptions } from './relay-watch.js';
import type { SnapshotSource } from './source.js';
import type { Tracker } from './tracker.js';

export interface RelaySourceOptions {
  /** Relay base URLs (`http(s)://host:port[/path]`); one is read, the others take over when it fails. */
  urls: readonly string[];
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** How the relay is reached (TLS agents, tests); default global fetch. */
  fetch?: FetchLike;
  /** Deadline of one request, answer body included (ms). Default 5,000. */
  timeoutMs?: number;
  /** How long a failed URL is tried only after the others (ms). Default 10,000. */
  cooldownMs?: number;
  /** Watch mode: how long each long-poll asks the relay to hold it (ms). Default 30,000. */
  watchWaitMs?: number;
  /** Watch mode: the first pause after a failed long-poll (ms), doubled per failure up to `watchMaxBackoffMs`. Default 250. */
  watchBackoffMs?: number;
  /** Watch mode: the longest pause between failed long-polls, and the pause after a refused token (ms). Default 10,000. */
  watchMaxBackoffMs?: number;
  /**
   * Told when the relay refuses the token (401, 403): once, and again only
   * after a read has succeeded since. The token will not fix itself; an
   * operator must (or the relay must accept it again).
   */
  onRefused?: (error: RelayError) => void;
  now?: () => number;
  random?: () => number;
}

/** One request's outcome before it is turned into a snapshot; `staleAgeMs` when the relay said it could not reach etcd. */
type Answer = { changed: false; staleAgeMs: number | undefined } | { changed: true; body: unknown };

/**
 * Reads services from a snapshot relay (`GET /v1/services/{name}`) instead of
 * etcd. A refresh is a conditional GET with the held revision: a 304 keeps the
 * held snapshot itself (nothing decoded, nothing rebuilt). A failing URL is
 * set aside for a while and the next one tried; a refused token is not retried.
 *
 * @example
 * const source = new RelaySource({ urls: ['https://relay.internal:8790'], token });
 * const resolver = new Resolver({ source });
 */
export class RelaySource implements SnapshotSource {
  readonly #urls: readonly string[];
  readonly #rotation: Rotation;
  readonly #token: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #watch: { waitMs?: number; backoffMs?: number; maxBackoffMs?: number };
  readonly #onRefused: ((error: RelayError) => void) | undefined;
  #refused = false;

  constructor(options: RelaySourceOptions) {
    this.#watch = {
      ...(options.watchWaitMs === undefined ? {} : { waitMs: options.watchWaitMs }),
      ...(options.watchBackoffMs === undefined ? {} : { backoffMs: options.watchBackoffMs }),
      ...(options.watchMaxBackoffMs === undefined ? {} : { maxBackoffMs: options.watchMaxBackoffMs }),
    };
    this.#onRefused = options.onRefused;
    this.#now = options.now ?? Date.now;
    if (options.urls.length === 0) throw new TypeError('at least one relay URL is required');
    this.#urls = options.urls.map(normalizeRelayUrl);
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#rotation = new Rotation(this.#urls.length, { cooldownMs: options.cooldownMs ?? 10_000, now: this.#now, ...(options.random ? { random: options.random } : {}) });
  }

  /** Every URL tried (one URL twice) at the request deadline, and a margin. */
  get callBoundMs(): number {
    return this.#timeoutMs * Math.max(2, this.#urls.length) + 1_000;
  }

  /** Watch mode: one long-poll loop per held service. */
  tracker(options: { now: () => number; onChange?: (service: string) => void }): Tracker {
    return new RelayWatch(this, { ...this.#watch, ...options });
  }

  /** The relay URLs, normalized. */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /** How many relay URLs are set aside after failing. */
  get downCount(): number {
    return this.#rotation.asideCount;
  }

  /**
   * The service as the relay holds it; `previous` itself when its revision is unchanged.
   * @throws {RelayError} `RELAY_UNAUTHORIZED` or `RELAY_BAD_REQUEST` at once; `RELAY_UNAVAILABLE` when every URL failed
   */
  async read(service: string, previous: Snapshot | undefined, options: RelayReadOptions = {}): Promise<Snapshot> {
    let last: unknown;
    let attempts = 0;
    for (const index of this.#rotation.order()) {
      attempts++;
      if (options.signal?.aborted) break;
      try {
        const answer = await this.#get(this.#urls[index]!, service, previous?.revision, options);
        const snapshot = this.#snapshotOf(service, answer, previous);
        this.#rotation.answered(index);
        this.#refused = false;
        return snapshot;
      } catch (error) {
        if (error instanceof RelayError && !error.retryable) throw this.#told(error);
        last = error;
        if (options.signal?.aborted) break;
        // Set aside for the cooldown, or as long as the relay asked (`Retry-After`) when longer.
        this.#rotation.setAside(index, error instanceof RelayError ? error.retryAfterMs : undefined);
      }
    }
    throw new RelayUnavailableError(attempts, last);
  }

  /** `error`, after telling `onRefused` of the first refused token since the last good read. */
  #told(error: RelayError): RelayError {
    if (error.code === 'RELAY_UNAUTHORIZED' && !this.#refused) {
      this.#refused = true;
      try {
        this.#onRefused?.(error);
      } catch {
        // A logging hook's failure must not change the read's outcome.
      }
    }
    return error;
  }

  #snapshotOf(service: string, answer: Answer, previous: Snapshot | undefined): Snapshot {
    if (!answer.changed) {
      if (!previous) throw new RelayError('RELAY_PROTOCOL', 'snapshot relay answered 304 to a request without If-None-Match');
      return withStaleness(previous, answer.staleAgeMs, this.#now());
    }
    const body = decodeRelayBody(service, answer.body);
    return withStaleness(buildSnapshot(service, body.records, body.revision, this.#now()), body.stale ? body.ageMs : undefined, this.#now());
  }

  /** One request to one URL, within the deadline. */
  async #get(base: string, service: string, held: number | undefined, options: RelayReadOptions): Promise<Answer> {
    const origin = new URL(base).origin;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
    if (held !== undefined) headers['if-none-match'] = `"${held}"`;
    // A long-poll is only sent with a held revision: without one the relay answers at once anyway.
    const waitMs = held !== undefined && options.waitMs ? Math.floor(options.waitMs) : 0;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs + waitMs);
    const stop = () => deadline.abort();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      const query = waitMs > 0 ? `?wait=${waitMs}` : '';
      const response = await this.#fetch(`${base}/v1/services/${encodeURIComponent(service)}${query}`, { headers, redirect: 'manual', signal: deadline.signal });
      if (response.status === 304) {
        await response.body?.cancel();
        return { changed: false, staleAgeMs: staleAgeOf(response) };
      }
      if (response.status !== 200) throw await refusal(origin, response);
      const text = await response.text();
      try {
        return { changed: true, body: JSON.parse(text) };
      } catch {
        throw new RelayError('RELAY_PROTOCOL', `snapshot relay ${origin} answered with a body that is not JSON`, { status: 200 });
      }
    } catch (error) {
      if (error instanceof RelayError) throw error;
      if (options.signal?.aborted) throw new RelayError('RELAY_UNAVAILABLE', `the read of snapshot relay ${origin} was stopped`, { cause: error });
      if (deadline.signal.aborted) throw new RelayError('RELAY_TIMEOUT', `snapshot relay ${origin} did not answer within ${this.#timeoutMs + waitMs} ms`);
      throw new RelayError('RELAY_UNAVAILABLE', `snapshot relay ${origin} could not be reached`, { cause: error });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
    }
  }
}

/** A 304's `X-Relay-Stale-Age` (ms): the relay could not reach etcd and its snapshot is that old. */
function staleAgeOf(response: Response): number | undefined {
  const value = response.headers.get('x-relay-stale-age');
  return value !== null && /^\d{1,16}$/.test(value) ? Number(value) : undefined;
}

/**
 * The snapshot with `staleSince` set from a relay's age when it answered
 * stale, and cleared when it answered current; the same object when that
 * does not change it (its instance list is shared either way).
 */
function withStaleness(snapshot: Snapshot, staleAgeMs: number | undefined, now: number): Snapshot {
  const staleSince = staleAgeMs === undefined ? undefined : now - staleAgeMs;
  if (staleSince === undefined && snapshot.staleSince === undefined) return snapshot;
  // While the relay stays stale, keep the first estimate: a later answer's age says the same within a round trip.
  if (staleSince !== undefined && snapshot.staleSince !== undefined && Math.abs(snapshot.staleSince - staleSince) < 1_000) return snapshot;
  const { staleSince: _dropped, ...rest } = snapshot;
  return Object.freeze(staleSince === undefined ? rest : { ...rest, staleSince });
}

/** The error for a relay's answer other than 200 or 304. */
async function refusal(origin: string, response: Response): Promise<RelayError> {
  await response.body?.cancel();
  const status = response.status;
  const at = `snapshot relay ${origin}`;
  if (status === 401 || status === 403) return new RelayError('RELAY_UNAUTHORIZED', `${at} refused the token (${status}): check ETCD_EDGE_RELAY_TOKEN`, { status, retryable: false });
  if (status === 400) return new RelayError('RELAY_BAD_REQUEST', `${at} refused the request (400)`, { status, retryable: false });
  if (status === 429) return new RelayError('RELAY_RATE_LIMITED', `${at} is rate limiting this gateway (429)`, { status, ...retryAfter(response) });
  if (status === 503) return new RelayError('RELAY_ETCD_UNAVAILABLE', `${at} has no snapshot to serve: etcd is unavailable to it (503)`, { status });
  if ((status >= 300 && status < 400) || status === 0) return new RelayError('RELAY_PROTOCOL', `${at} answered with a redirect, which is not followed`, { status });
  return new RelayError(status >= 500 ? 'RELAY_UNAVAILABLE' : 'RELAY_PROTOCOL', `${at} answered HTTP ${status}`, { status });
}

function retryAfter(response: Response): { retryAfterMs?: number } {
  const seconds = Number(response.headers.get('retry-after'));
  // At most a minute: a relay's hint must not park a URL for longer than an outage would.
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: Math.min(seconds, 60) * 1_000 } : {};
}
