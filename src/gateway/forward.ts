import type { Attempt, Balancer, PickRequest } from '../balance/index.js';
import type { Instance } from '../registry/index.js';
import type { OutgoingBody } from './body.js';
import { grpcUnavailable } from './grpc.js';
import { TIMERS, type Deadlines, type Expiring } from './deadlines.js';
import type { ClientLink, GoneWatcher } from './inbound.js';
import { AttemptCancel, discardBody, UpstreamError, type Upstream, type UpstreamFailure, type UpstreamReply, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

/** Methods that mean the same when sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Answers that say "this instance could not serve it": another may. */
const RETRY_STATUS = new Set([502, 503, 504]);

export interface RetryPolicy {
  maxAttempts: number;
  deadlineMs: number;
  upstreamTimeoutMs: number;
}

/** One request on its way to a service, as forwarding reads it: plain data, made by the request (proxy.ts) once its body is known. */
export interface Forwarding {
  readonly instances: readonly Instance[];
  readonly pick: PickRequest;
  /** The instance already chosen for the first attempt (null: none eligible), so its choice is timed with discovery. */
  readonly first: Instance | null;
  readonly method: string;
  /** Path and query, as sent to the instance. */
  readonly path: string;
  /** Flat name/value list (see `FieldList`). */
  readonly headers: readonly string[];
  readonly body: OutgoingBody;
  /** Tells when the client goes away. */
  readonly client: ClientLink;
  /** When the request arrived (ms, the `now` clock): the deadline counts from here. */
  readonly startedAt: number;
  /** The client's own deadline (ms from `startedAt`: gRPC's `grpc-timeout`), when sooner than the gateway's. */
  readonly timeoutMs?: number | undefined;
}

export type Forwarded =
  | { ok: true; response: UpstreamResponse; instance: Instance; attempts: number }
  | { ok: false; failure: 'none-eligible' | 'unreachable' | 'timeout' | 'client-gone' | 'body-too-large'; attempts: number };

export interface ForwardDeps {
  balancer: Balancer;
  upstream: Upstream;
  retry: RetryPolicy;
  now: () => number;
  /** How each attempt's timeout is kept; default a timer per attempt (`TIMERS`). */
  deadlines?: Deadlines | undefined;
  onRetry?: () => void;
  /**
   * gRPC's rules instead of HTTP's: a call is sent again only when nothing
   * was sent (no connection) or the instance said UNAVAILABLE before any
   * response (`grpcUnavailable`); never after a timeout or a broken stream.
   */
  grpc?: boolean;
}

const TIMEOUT = Symbol('timeout');
const CLIENT_GONE = Symbol('client gone');

/**
 * Where forwarding reports: the request (proxy.ts), whose one guard decides
 * when it is over. Forwarding tells `forwarded` once when its attempts end;
 * `broke` when a step called back by the upstream threw (a bug), which may
 * come after: the guard keeps the first.
 */
export interface ForwardDone {
  forwarded(result: Forwarded): void;
  /** Nobody else would hear of the bug, and the request must not hang. */
  broke(error: unknown): void;
}

/**
 * Sends a request to one instance after another until one answers, within one
 * deadline: after a connect failure (nothing was sent) any method is retried;
 * after a 502/503/504, a broken connection or a timeout only an idempotent one,
 * and never with a body that may already have reached an instance. A gRPC
 * call (`deps.grpc`) is retried only after a connect failure or an instance's
 * UNAVAILABLE before any response, and its `grpc-timeout` (`timeoutMs`)
 * shortens the deadline. The result goes to `done`, possibly before this returns.
 */
export function forward(deps: ForwardDeps, request: Forwarding, done: ForwardDone): void {
  new ForwardRun(deps, request, done).next(request.first);
}

/**
 * One request's way through its attempts: a class whose methods are the
 * steps, so no closure or promise is made per request. It keeps the attempts'
 * state (count, tried instances, the last failure) and reports to `done`; it
 * does not decide that the request is over.
 */
class ForwardRun {
  readonly #deps: ForwardDeps;
  readonly #request: Forwarding;
  readonly #done: ForwardDone;
  readonly #deadline: number;
  // Most requests end on their first attempt: what a retry needs is built on the first retry.
  #retries: Retries | undefined;
  #failure: 'none-eligible' | 'unreachable' | 'timeout' = 'none-eligible';
  #attempt = 0;

  constructor(deps: ForwardDeps, request: Forwarding, done: ForwardDone) {
    this.#deps = deps;
    this.#request = request;
    this.#done = done;
    const { timeoutMs } = request;
    this.#deadline = request.startedAt + (timeoutMs === undefined ? deps.retry.deadlineMs : Math.min(timeoutMs, deps.retry.deadlineMs));
  }

  /** Tries `instance`, or ends when there is none. */
  next(instance: Instance | null): void {
    const request = this.#request;
    if (!instance) {
      if (this.#failure === 'none-eligible') request.body.discard();
      return this.#done.forwarded({ ok: false, failure: this.#failure, attempts: this.#attempt });
    }
    const attempt = ++this.#attempt;
    const remaining = this.#deadline - this.#deps.now();
    if (remaining <= 0) return this.#done.forwarded({ ok: false, failure: 'timeout', attempts: attempt - 1 });
    if (request.client.gone) return this.#done.forwarded({ ok: false, failure: 'client-gone', attempts: attempt });
    const live = new LiveAttempt(this, instance, Math.min(this.#deps.retry.upstreamTimeoutMs, remaining));
    // The upstream is `UndiciUpstream` (adapters/node/undici-upstream.ts) on Node and Lambda, `FetchUpstream` on
    // Workers; it calls the attempt back (`LiveAttempt.answered` or `failed`, below), which calls this run back.
    try {
      this.#deps.upstream.send(live, live);
    } catch (error) {
      live.failed(error);
    }
  }

  /** An attempt ended with an answer. */
  answered(instance: Instance, response: UpstreamResponse): void {
    const deps = this.#deps;
    const attempt = this.#attempt;
    const retry = unavailable(deps, response) && !isLast(deps, attempt, this.#deadline) && mayResend(this.#request, deps.grpc ? 'connect' : 'failed');
    const next = retry ? this.#another(instance) : undefined;
    if (!next) return this.#done.forwarded({ ok: true, response, instance, attempts: attempt });
    discardBody(response.body);
    deps.onRetry?.();
    this.next(next);
  }

  /** An attempt ended without an answer. */
  failed(instance: Instance, failure: UpstreamFailure | 'client-gone' | 'body-too-large'): void {
    const attempt = this.#attempt;
    if (failure === 'client-gone' || failure === 'body-too-large') return this.#done.forwarded({ ok: false, failure, attempts: attempt });
    this.#failure = failure === 'timeout' ? 'timeout' : 'unreachable';
    if (isLast(this.#deps, attempt, this.#deadline) || (this.#deps.grpc === true && failure !== 'connect') || !mayResend(this.#request, failure)) {
      return this.#done.forwarded({ ok: false, failure: this.#failure, attempts: attempt });
    }
    const next = this.#another(instance);
    if (next) this.#deps.onRetry?.();
    this.next(next);
  }

  get done(): ForwardDone {
    return this.#done;
  }

  get deps(): ForwardDeps {
    return this.#deps;
  }

  get request(): Forwarding {
    return this.#request;
  }

  get deadline(): number {
    return this.#deadline;
  }

  #another(failed: Instance): Instance | null {
    return (this.#retries ??= new Retries(this.#deps.balancer, this.#request)).another(failed) ?? null;
  }
}

/** The instances a request has tried, so a retry goes elsewhere; made on the first retry. */
class Retries {
  readonly #balancer: Balancer;
  readonly #request: Forwarding;
  #tried: Set<Instance> | undefined;
  #pick: PickRequest | undefined;

  constructor(balancer: Balancer, request: Forwarding) {
    this.#balancer = balancer;
    this.#request = request;
  }

  /** Another instance than those tried so far, `failed` included; undefined when none is left. */
  another(failed: Instance): Instance | undefined {
    const tried = (this.#tried ??= new Set());
    tried.add(failed);
    this.#pick ??= { ...this.#request.pick, exclude: tried };
    return this.#balancer.pick(this.#request.instances, this.#pick);
  }
}

/** Whether no further attempt may follow; reads the clock, so it is asked only when a retry is in question. */
function isLast(deps: ForwardDeps, attempt: number, deadline: number): boolean {
  return attempt >= deps.retry.maxAttempts || deadline - deps.now() <= 0;
}

/** An answer that says "this instance could not serve it": 502, 503 or 504; for gRPC, UNAVAILABLE before any response. */
function unavailable(deps: ForwardDeps, response: UpstreamResponse): boolean {
  return deps.grpc === true ? grpcUnavailable(response) : RETRY_STATUS.has(response.status);
}

function mayResend(request: Forwarding, failure: UpstreamFailure): boolean {
  if (!request.body.replayable) return false;
  return failure === 'connect' || IDEMPOTENT.has(request.method);
}

/**
 * One attempt on one instance while it runs, in one object: the request the
 * upstream sends, the upstream's reply, its one deadline and its cancel
 * (timeout, client gone), and its count in the balancer's in-flight and
 * ejection figures. The deadline first bounds the wait for response headers,
 * then (rarely needed) the rest of the deadline for whatever an upstream
 * still reads before answering (a small body it buffers).
 */
class LiveAttempt implements UpstreamRequest, UpstreamReply, GoneWatcher, Expiring {
  readonly cancel = new AttemptCancel();
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers: readonly string[];
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null;
  readonly #run: ForwardRun;
  readonly #instance: Instance;
  readonly #attempt: Attempt;
  readonly #deadlines: Deadlines;
  deadlineSlot: unknown = undefined;
  #headersArrived = false;
  #ended = false;

  constructor(run: ForwardRun, instance: Instance, timeoutMs: number) {
    const { deps, request } = run;
    this.origin = instance.url;
    this.path = request.path;
    this.method = request.method;
    this.headers = request.headers;
    this.body = request.body.forAttempt();
    this.#run = run;
    this.#instance = instance;
    this.#attempt = deps.balancer.begin(instance);
    this.#deadlines = deps.deadlines ?? TIMERS;
    this.#deadlines.arm(this, timeoutMs);
    request.client.watch(this);
  }

  clientGone(): void {
    this.cancel.cancel(CLIENT_GONE);
  }

  /**
   * The deadline passed: cancel, unless some of the deadline is left and headers
   * came, or the request's body is still being sent (an upload the instance
   * must read whole before it answers: the wait for headers starts again).
   */
  expire(): void {
    if (this.#ended) return;
    const { deps, request } = this.#run;
    const left = this.#run.deadline - deps.now();
    if (left <= 0) this.cancel.cancel(TIMEOUT);
    else if (this.#headersArrived) this.#deadlines.arm(this, left);
    else if (request.body.sending) this.#deadlines.arm(this, Math.min(left, deps.retry.upstreamTimeoutMs));
    else this.cancel.cancel(TIMEOUT);
  }

  // The timeout bounds the wait for response headers only: bodies (downloads, event streams) take what they take.
  headersArrived(): void {
    this.#headersArrived = true;
  }

  // The upstream calls these from its own callbacks, where a throw (a bug) would reach no one: the request's error route takes it.
  answered(response: UpstreamResponse): void {
    try {
      if (!this.#end()) return;
      this.#attempt.end(unavailable(this.#run.deps, response) ? 'failure' : 'success');
      this.#run.answered(this.#instance, response);
    } catch (error) {
      // Nobody will read it: an unread stream would hold its connection.
      discardBody(response.body);
      this.#run.done.broke(error);
    }
  }

  failed(error: unknown): void {
    try {
      if (!this.#end()) return;
      this.#run.failed(this.#instance, this.#failure(error));
    } catch (bug) {
      this.#run.done.broke(bug);
    }
  }

  /** How the attempt failed. */
  #failure(error: unknown): UpstreamFailure | 'client-gone' | 'body-too-large' {
    const { request } = this.#run;
    // Neither is the instance's fault: an attacker's oversized upload must not eject a healthy instance.
    if (request.client.gone || request.body.overLimit) {
      this.#attempt.end('neutral');
      return request.client.gone ? 'client-gone' : 'body-too-large';
    }
    // An instance that accepts connections and never answers is as broken as one that refuses them.
    this.#attempt.end('failure');
    return this.cancel.reason === TIMEOUT ? 'timeout' : error instanceof UpstreamError ? error.failure : 'failed';
  }

  /** The attempt's own end (its timer, its client watch), not the request's; false when it had already ended. */
  #end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#deadlines.disarm(this);
    this.#run.request.client.watch(undefined);
    return true;
  }
}
