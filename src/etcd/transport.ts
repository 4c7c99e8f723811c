import type * as z from 'zod/mini';
import { TokenSource } from './auth.js';
import { refusedPort } from './bad-ports.js';
import { abortable, Deadline } from './deadline.js';
import { EndpointFailure, EndpointPool } from './endpoints.js';
import { EtcdBadPortError, EtcdError, EtcdProtocolError } from './errors.js';
import { failureFor, inStreamError, neverSent, parseBody, redirectFailure } from './failures.js';
import { isStaleTokenError } from './status.js';
import { authenticateResponse, decode } from './wire.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  endpoints: readonly string[];
  username?: string;
  password?: string;
  fetch?: FetchLike;
  /** Per-attempt deadline in ms for reads: the whole answer, or a stream's headers. */
  timeoutMs?: number;
  /** Per-attempt deadline in ms for writes; longer than etcd's own request timeout (7 s by default). */
  writeTimeoutMs?: number;
  /** How long a failed endpoint is set aside, in ms. */
  endpointCooldownMs?: number;
}

export interface CallSpec {
  signal?: AbortSignal | undefined;
  /** A write is never sent twice when the first attempt may have reached etcd. */
  write?: boolean;
  /** Overrides the client's per-attempt deadline for this call. */
  timeoutMs?: number | undefined;
}

/** An open stream, with what is needed to react to its failure. */
export interface OpenStream {
  response: Response;
  /** The endpoint serving it, to set aside if the stream fails. */
  url: string;
  /** The token it was sent with, to refresh if etcd cancels it for a stale token. */
  token: string | undefined;
}

interface Attempt {
  body: unknown;
  signal: AbortSignal | undefined;
  token: string | undefined;
  timeoutMs: number;
  headers?: Record<string, string>;
}

/**
 * POSTs JSON to etcd's gateway: endpoint failover, per-attempt timeouts, auth
 * tokens (with one re-login on a stale token) and error mapping. Unary calls
 * return the decoded body; `stream` returns the open response.
 */
export class Transport {
  readonly pool: EndpointPool;
  #fetch: FetchLike;
  #timeoutMs: number;
  #writeTimeoutMs: number;
  #tokens: TokenSource | undefined;

  constructor(options: TransportOptions) {
    this.pool = new EndpointPool(options.endpoints, { cooldownMs: options.endpointCooldownMs ?? 10_000 });
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    if (options.username !== undefined && options.username !== '') {
      const credentials = { name: options.username, password: options.password ?? '' };
      this.#tokens = new TokenSource(() => this.#login(credentials), this.callBoundMs);
    }
  }

  /**
   * The longest one call can take with its failover: every endpoint tried
   * (one endpoint is tried twice) at the read timeout, and a margin. What is
   * shared between callers (a login, a service's read) is given up after it.
   */
  get callBoundMs(): number {
    return this.#timeoutMs * Math.max(2, this.pool.urls.length) + 1_000;
  }

  /** A unary call: the decoded, validated response body. */
  call<S extends z.ZodMiniType>(path: string, body: unknown, schema: S, spec: CallSpec = {}): Promise<z.output<S>> {
    const timeoutMs = spec.timeoutMs ?? (spec.write ? this.#writeTimeoutMs : this.#timeoutMs);
    return this.#withAuth(body, spec.signal, timeoutMs, (attempt) =>
      this.pool.run((url) => this.#unary(url + path, attempt, schema), { signal: spec.signal, write: spec.write ?? false }),
    );
  }

  /**
   * A streaming call: the open response, its body unread. The caller's signal
   * stays linked for the life of the stream, so pass a per-stream signal.
   */
  stream(path: string, body: unknown, signal: AbortSignal, headers: Record<string, string> = {}): Promise<OpenStream> {
    return this.#withAuth(body, signal, this.#timeoutMs, async (attempt) => {
      let served = '';
      const response = await this.pool.run(
        (url) => {
          served = url;
          return this.#open(url + path, { ...attempt, headers });
        },
        { signal },
      );
      return { response, url: served, token: attempt.token };
    });
  }

  /** The current auth token (logging in when needed), or undefined without auth. */
  token(): Promise<string | undefined> {
    return this.#tokens ? this.#tokens.token() : Promise.resolve(undefined);
  }

  /** Marks `stale` as rejected by etcd and returns a fresh token. */
  refreshToken(stale: string | undefined): Promise<string | undefined> {
    return this.#tokens ? this.#tokens.refresh(stale ?? '') : Promise.resolve(undefined);
  }

  async #withAuth<T>(
    body: unknown,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    send: (a: Attempt) => Promise<T>,
  ): Promise<T> {
    const token = await abortable(this.token(), signal);
    try {
      return await send({ body, signal, token, timeoutMs });
    } catch (error) {
      if (!this.#tokens || !isStaleToken(error)) throw error;
      return send({ body, signal, token: await abortable(this.refreshToken(token), signal), timeoutMs });
    }
  }

  /**
   * The shared login takes no caller's signal: one caller giving up must not
   * fail the others. A login costs etcd a bcrypt hash, and when many clients
   * start at once (a scale-out, a fleet of cold Lambdas) those hashes queue on
   * etcd's CPU: the login gets the write deadline, and one that timed out is
   * not sent to the same member again, since etcd still hashes the abandoned
   * copy and a second one only lengthens the queue for every client.
   */
  async #login(credentials: { name: string; password: string }): Promise<string> {
    const attempt = { body: credentials, signal: undefined, token: undefined, timeoutMs: this.#writeTimeoutMs };
    const answer = await this.pool.run(async (url) => {
      try {
        return await this.#unary(`${url}/v3/auth/authenticate`, attempt, authenticateResponse);
      } catch (error) {
        if (error instanceof EndpointFailure && isTimeout(error.cause)) throw new EndpointFailure(error.cause, error.maybeSent, false);
        throw error;
      }
    });
    return answer.token;
  }

  async #unary<S extends z.ZodMiniType>(url: string, attempt: Attempt, schema: S): Promise<z.output<S>> {
    const deadline = new Deadline(attempt.signal, attempt.timeoutMs);
    try {
      const response = await this.#send(url, attempt, deadline);
      const text = await response.text().catch((cause: unknown) => {
        throw new EndpointFailure(deadline.explain(cause));
      });
      if (!response.ok) throw failureFor(response.status, text);
      const json = parseBody(text, response.status);
      const parsed = decode(schema, json);
      if (!parsed.success) {
        throw (
          inStreamError(json) ??
          new EtcdProtocolError(`unexpected etcd response shape: ${parsed.error.issues[0]?.message ?? ''}`, {
            cause: parsed.error,
            status: response.status,
          })
        );
      }
      return parsed.data;
    } finally {
      deadline.release();
    }
  }

  async #open(url: string, attempt: Attempt): Promise<Response> {
    const deadline = new Deadline(attempt.signal, attempt.timeoutMs);
    let response: Response;
    try {
      response = await this.#send(url, attempt, deadline);
    } catch (error) {
      deadline.release();
      throw error;
    }
    if (response.ok) {
      // The stream outlives the timer; the caller's signal still ends it.
      deadline.stopTimer();
      return response;
    }
    const text = await response.text().catch(() => '');
    deadline.release();
    throw failureFor(response.status, text);
  }

  async #send(url: string, attempt: Attempt, deadline: Deadline): Promise<Response> {
    // Checked here, not when the client is made: the other endpoints still serve.
    const port = refusedPort(url);
    if (port !== undefined) throw EndpointFailure.misconfigured(new EtcdBadPortError(port));
    const headers: Record<string, string> = { 'content-type': 'application/json', ...attempt.headers };
    if (attempt.token !== undefined) headers.authorization = attempt.token;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(attempt.body),
        // Following would send the login body or the token to whatever host the answer names.
        redirect: 'manual',
        signal: deadline.signal,
      });
    } catch (cause) {
      attempt.signal?.throwIfAborted();
      throw new EndpointFailure(deadline.explain(cause), deadline.timedOut || !neverSent(cause));
    }
    const redirected = redirectFailure(url, response);
    if (redirected) throw redirected;
    return response;
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof EtcdError && error.code === 'ETCD_TIMEOUT';
}

function isStaleToken(error: unknown): boolean {
  return error instanceof EtcdError && error.grpcCode !== undefined && isStaleTokenError(error.grpcCode, error.message);
}
