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
}

/**
 * Where one attempt's outcome goes. The upstream calls `answered` or
 * `failed`, once, possibly before `send` returns; `headersArrived` comes
 * first when a response starts. Callbacks rather than a promise: on Node's
 * hot path the promise and its microtask turns cost ~7 % of a bare proxy's
 * CPU per request (measured side by side).
 */
export interface UpstreamReply {
  /** Response headers arrived, before any of the body is read: the attempt's timeout ends there. */
  headersArrived(): void;
  answered(response: UpstreamResponse): void;
  /** No response arrived; after a cancel this comes at once, and the caller decides what the cancel was. */
  failed(error: UpstreamError): void;
}

/** An instance's answer, as an upstream hands it to the gateway. */
export interface UpstreamResponse {
  status: number;
  /** Flat name/value list, names lower case (see `FieldList`). */
  headers: FieldList;
  /** A stream, or the whole body when an upstream chose to read a small one at once. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
  /**
   * The body in the runtime's own form, when the upstream has one its runtime
   * writes without a Web stream in between (undici's `Readable` on Node; then
   * `body` is made from it only if asked for). Opaque to the core, which never
   * reads it: the runtime's adapter that wrote it narrows it back.
   */
  readonly native?: unknown;
  /**
   * The fields that follow the body, where the instance's protocol has them
   * (HTTP/2: gRPC's `grpc-status` and `grpc-message`); absent otherwise. An
   * answer with no body before them (gRPC's trailers-only answer) has them
   * at once.
   */
  readonly trailers?: TrailerFeed;
}

/**
 * An answer's trailer fields, told once: the upstream says when they arrive,
 * before its body ends; the runtime that writes the answer listens for them
 * before it reads the body, and is told at once if they came already.
 */
export class TrailerFeed {
  #fields: FieldList | undefined;
  #listener: ((fields: FieldList) => void) | undefined;

  /** The fields, when they have arrived; names lower case. */
  get fields(): FieldList | undefined {
    return this.#fields;
  }

  /** The upstream: the trailer fields arrived (later calls are ignored). */
  arrived(fields: FieldList): void {
    if (this.#fields !== undefined) return;
    this.#fields = fields;
    this.#listener?.(fields);
  }

  /** The one listener; told at once when the fields have arrived already. */
  listen(listener: (fields: FieldList) => void): void {
    this.#listener = listener;
    if (this.#fields !== undefined) listener(this.#fields);
  }
}

/** What a cancel stops: an upstream's attempt in flight. */
export interface Cancellable {
  cancel(reason: unknown): void;
}

/**
 * Stops one attempt early (its timeout, or the client going away): a one-shot
 * flag with a single target, the upstream's attempt. Cheaper than an
 * `AbortController` per attempt, which showed in Node profiles.
 */
export class AttemptCancel {
  #cancelled = false;
  #reason: unknown;
  #target: Cancellable | undefined;

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
    const target = this.#target;
    this.#target = undefined;
    target?.cancel(reason);
  }

  /** Sets the one target; cancelled at once when this already is. */
  onCancel(target: Cancellable): void {
    if (this.#cancelled) target.cancel(this.#reason);
    else this.#target = target;
  }

  /** An `AbortSignal` that follows this, for APIs that take one (`fetch`). */
  toSignal(): AbortSignal {
    const controller = new AbortController();
    this.onCancel({ cancel: (reason) => controller.abort(reason) });
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
  /** Starts one attempt; its outcome goes to `reply`. */
  send(request: UpstreamRequest, reply: UpstreamReply): void;
  /**
   * Starts one WebSocket handshake: `request` as `send` takes it (a GET, no
   * body, end-to-end fields only), to which the upstream adds `Upgrade:
   * websocket` and `Connection: Upgrade` in its stack's own way. The instance
   * switching protocols answers 101 with the upgraded connection as
   * `native`, in the runtime's form (a Node socket, a Workers `WebSocket`),
   * wrapped in a `Cancellable` whose `cancel` closes it when it is not
   * relayed after all; any other answer comes as from `send`. Absent where the runtime cannot
   * hold an upgraded connection (Lambda): the gateway answers 501 there.
   */
  readonly upgrade?: ((request: UpstreamRequest, reply: UpstreamReply) => void) | undefined;
  /** Releases pooled connections. */
  close?(): Promise<void>;
}

/**
 * `Upstream.send` as a promise, for callers off the hot path (tools, tests).
 *
 * @example
 * const response = await sendAwaiting(upstream, { origin, path: '/', method: 'GET', headers: [], body: null, cancel: new AttemptCancel() });
 */
export function sendAwaiting(upstream: Upstream, request: UpstreamRequest, onHeaders?: () => void): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    upstream.send(request, { headersArrived: () => onHeaders?.(), answered: resolve, failed: reject });
  });
}
