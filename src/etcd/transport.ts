import type { z } from 'zod';
import { TokenSource } from './auth.js';
import { EndpointFailure, EndpointPool } from './endpoints.js';
import { EtcdError, EtcdProtocolError } from './errors.js';
import { errorFromStatus, isStaleTokenError } from './status.js';
import { authenticateResponse, errorBody } from './wire.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  endpoints: readonly string[];
  username?: string;
  password?: string;
  fetch?: FetchLike;
  /** Per-attempt deadline in ms, until the whole answer (unary) or its headers (streams). */
  timeoutMs?: number;
  /** How long a failed endpoint is set aside, in ms. */
  endpointCooldownMs?: number;
}

interface Attempt {
  body: unknown;
  signal: AbortSignal | undefined;
  token: string | undefined;
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
  #tokens: TokenSource | undefined;

  constructor(options: TransportOptions) {
    this.pool = new EndpointPool(options.endpoints, { cooldownMs: options.endpointCooldownMs ?? 10_000 });
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    if (options.username !== undefined && options.username !== '') {
      const credentials = { name: options.username, password: options.password ?? '' };
      this.#tokens = new TokenSource(() => this.#login(credentials));
    }
  }

  /** A unary call: the decoded, validated response body. */
  call<S extends z.ZodType>(path: string, body: unknown, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.#withAuth(body, signal, (attempt) =>
      this.pool.run((url) => this.#unary(url + path, attempt, schema), signal),
    );
  }

  /**
   * A streaming call: the response, checked for status, its body still unread,
   * and the token it was sent with (so a stream that etcd cancels for a stale
   * token can be reopened after `refreshToken`).
   */
  stream(path: string, body: unknown, signal?: AbortSignal): Promise<{ response: Response; token: string | undefined }> {
    return this.#withAuth(body, signal, async (attempt) => ({
      response: await this.pool.run((url) => this.#open(url + path, attempt), signal),
      token: attempt.token,
    }));
  }

  /** The current auth token (logging in when needed), or undefined without auth. */
  token(): Promise<string | undefined> {
    return this.#tokens ? this.#tokens.token() : Promise.resolve(undefined);
  }

  /** Marks `stale` as rejected by etcd and returns a fresh token. */
  refreshToken(stale: string | undefined): Promise<string | undefined> {
    return this.#tokens ? this.#tokens.refresh(stale ?? '') : Promise.resolve(undefined);
  }

  async #withAuth<T>(body: unknown, signal: AbortSignal | undefined, send: (a: Attempt) => Promise<T>): Promise<T> {
    const token = await this.token();
    try {
      return await send({ body, signal, token });
    } catch (error) {
      if (!this.#tokens || !isStaleToken(error)) throw error;
      return send({ body, signal, token: await this.refreshToken(token) });
    }
  }

  async #login(credentials: { name: string; password: string }): Promise<string> {
    const attempt = { body: credentials, signal: undefined, token: undefined };
    const answer = await this.pool.run((url) => this.#unary(`${url}/v3/auth/authenticate`, attempt, authenticateResponse));
    return answer.token;
  }

  async #unary<S extends z.ZodType>(url: string, attempt: Attempt, schema: S): Promise<z.output<S>> {
    const deadline = new Deadline(attempt.signal, this.#timeoutMs);
    try {
      const response = await this.#send(url, attempt, deadline);
      const text = await response.text().catch((cause: unknown) => {
        throw new EndpointFailure(deadline.explain(cause));
      });
      if (!response.ok) throw failureFor(response.status, text);
      const parsed = schema.safeParse(parseBody(text, response.status));
      if (!parsed.success) {
        throw new EtcdProtocolError(`unexpected etcd response shape: ${parsed.error.issues[0]?.message ?? ''}`, {
          cause: parsed.error,
          status: response.status,
        });
      }
      return parsed.data;
    } finally {
      deadline.clear();
    }
  }

  async #open(url: string, attempt: Attempt): Promise<Response> {
    const deadline = new Deadline(attempt.signal, this.#timeoutMs);
    const response = await this.#send(url, attempt, deadline).finally(() => deadline.clear());
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    throw failureFor(response.status, text);
  }

  async #send(url: string, attempt: Attempt, deadline: Deadline): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (attempt.token !== undefined) headers.authorization = attempt.token;
    try {
      return await this.#fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(attempt.body),
        signal: deadline.signal,
      });
    } catch (cause) {
      attempt.signal?.throwIfAborted();
      throw new EndpointFailure(deadline.explain(cause));
    }
  }
}

function isStaleToken(error: unknown): boolean {
  return error instanceof EtcdError && error.grpcCode !== undefined && isStaleTokenError(error.grpcCode, error.message);
}

function parseBody(text: string, status: number): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EndpointFailure(
      new EtcdProtocolError(`etcd answered with a body that is not JSON (HTTP ${status})`, { cause, status }),
    );
  }
}

/** A non-2xx answer: typed from etcd's error body; 5xx and non-etcd bodies move to the next endpoint. */
function failureFor(status: number, text: string): Error {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = errorBody.safeParse(json);
  const error = parsed.success
    ? errorFromStatus(parsed.data.code, parsed.data.message ?? parsed.data.error ?? '', status)
    : new EtcdProtocolError(`etcd answered HTTP ${status} without an etcd error body`, { status });
  return status >= 500 || !parsed.success ? new EndpointFailure(error) : error;
}

/** One attempt's abort signal: the caller's, or the attempt's own timeout. */
class Deadline {
  readonly signal: AbortSignal;
  #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout>;
  #timedOut = false;

  constructor(caller: AbortSignal | undefined, timeoutMs: number) {
    this.signal = caller ? AbortSignal.any([caller, this.#controller.signal]) : this.#controller.signal;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new EtcdError('ETCD_TIMEOUT', `etcd did not answer within ${timeoutMs} ms`, { retryable: true }));
    }, timeoutMs);
  }

  /** The error to report for a failed fetch or body read. */
  explain(cause: unknown): unknown {
    return this.#timedOut ? this.#controller.signal.reason : cause;
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}
