import type { FieldList } from './fields.js';

/** One attempt to send a request to an instance. */
export interface UpstreamRequest {
  /** The instance's `scheme://host:port`. */
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  method: string;
  /** Flat name/value list (see `FieldList`). */
  headers: readonly string[];
  /** Null for no body; bytes can be sent again, a stream only once. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Stops the attempt: deadline passed or client gone. */
  cancel: AttemptCancel;
  /** Called when response headers arrive, before any of the body is read: the attempt's timeout ends there. */
  onHeaders?: () => void;
}

export interface UpstreamResponse {
  status: number;
  /** Flat name/value list, names lower case (see `FieldList`). */
  headers: FieldList;
  /** A stream, or the whole body when an upstream chose to read a small one at once. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/**
 * Stops one attempt early (its timeout, or the client going away): a one-shot
 * flag with a single listener, the upstream's. Cheaper than an
 * `AbortController` per attempt, which showed in Node profiles.
 */
export class AttemptCancel {
  #cancelled = false;
  #reason: unknown;
  #listener: ((reason: unknown) => void) | undefined;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  get reason(): unknown {
    return this.#reason;
  }

  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.(reason);
  }

  /** Sets the one listener; called at once when already cancelled. */
  onCancel(listener: (reason: unknown) => void): void {
    if (this.#cancelled) listener(this.#reason);
    else this.#listener = listener;
  }

  /** An `AbortSignal` that follows this, for APIs that take one (`fetch`). */
  toSignal(): AbortSignal {
    const controller = new AbortController();
    this.onCancel((reason) => controller.abort(reason));
    return controller.signal;
  }
}

/** Lets go of a response body that will not be passed on. */
export function discardBody(body: UpstreamResponse['body']): void {
  if (body instanceof ReadableStream) body.cancel().catch(() => undefined);
}

/**
 * How an attempt failed before a response arrived:
 * - `connect`: no connection was made, so nothing was sent (safe to retry any method);
 * - `failed`: the connection broke after the request may have been sent;
 * - `timeout`: no response headers in time (the request may have been processed).
 */
export type UpstreamFailure = 'connect' | 'failed' | 'timeout';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly failure: UpstreamFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Sends requests to instances. The gateway's only dependency on a network
 * stack: `fetch` on Workers and Lambda, pooled undici connections on Node.
 */
export interface Upstream {
  /** @throws {UpstreamError} when no response arrived; after `cancel` it rejects at once, and the caller decides what the cancel was */
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}
