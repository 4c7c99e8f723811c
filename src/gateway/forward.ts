import type { Attempt, Balancer, PickRequest } from '../balance/index.js';
import type { Instance } from '../registry/index.js';
import type { OutgoingBody } from './body.js';
import type { ClientLink } from './inbound.js';
import { AttemptCancel, discardBody, UpstreamError, type Upstream, type UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

/** Methods that mean the same when sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Answers that say "this instance could not serve it": another may. */
const RETRY_STATUS = new Set([502, 503, 504]);

export interface RetryPolicy {
  maxAttempts: number;
  deadlineMs: number;
  upstreamTimeoutMs: number;
}

/** One request on its way to a service. */
export interface Forwarding {
  instances: readonly Instance[];
  pick: PickRequest;
  /** The instance already chosen for the first attempt (undefined: none eligible), so its choice is timed with discovery. */
  first?: Instance | undefined;
  method: string;
  path: string;
  /** Flat name/value list (see `FieldList`). */
  headers: readonly string[];
  body: OutgoingBody;
  /** Tells when the client goes away. */
  client: ClientLink;
  /** When the request arrived (ms, the `now` clock): the deadline counts from here. */
  startedAt: number;
}

export type Forwarded =
  | { ok: true; response: UpstreamResponse; instance: Instance; attempts: number }
  | { ok: false; failure: 'none-eligible' | 'unreachable' | 'timeout' | 'client-gone'; attempts: number };

export interface ForwardDeps {
  balancer: Balancer;
  upstream: Upstream;
  retry: RetryPolicy;
  now: () => number;
  onRetry?: () => void;
}

const TIMEOUT = Symbol('timeout');
const CLIENT_GONE = Symbol('client gone');

/**
 * Sends a request to one instance after another until one answers, within one
 * deadline: after a connect failure (nothing was sent) any method is retried;
 * after a 502/503/504, a broken connection or a timeout only an idempotent one,
 * and never with a body that may already have reached an instance.
 */
export async function forward(deps: ForwardDeps, request: Forwarding): Promise<Forwarded> {
  const deadline = request.startedAt + deps.retry.deadlineMs;
  // Most requests end on their first attempt: what a retry needs is built on the first retry.
  let retries: Retries | undefined;
  let instance = 'first' in request ? request.first : deps.balancer.pick(request.instances, request.pick);
  let failure: 'none-eligible' | 'unreachable' | 'timeout' = 'none-eligible';
  let attempt = 0;
  while (instance) {
    attempt++;
    const remaining = deadline - deps.now();
    if (remaining <= 0) return { ok: false, failure: 'timeout', attempts: attempt - 1 };
    if (request.client.gone) return { ok: false, failure: 'client-gone', attempts: attempt };
    // The attempt is awaited here rather than in a function of its own: one async frame less per request.
    const live = new LiveAttempt(deps, request, instance, Math.min(deps.retry.upstreamTimeoutMs, remaining), deadline);
    let result: UpstreamResponse | UpstreamFailure | 'client-gone';
    try {
      result = live.answered(await deps.upstream.send(live.request));
    } catch (error) {
      result = live.failed(error);
    } finally {
      live.stop();
    }
    if (typeof result !== 'string') {
      const retry = RETRY_STATUS.has(result.status) && !isLast(deps, attempt, deadline) && mayResend(request, 'failed');
      const next = retry ? (retries ??= new Retries(deps.balancer, request)).another(instance) : undefined;
      if (!next) return { ok: true, response: result, instance, attempts: attempt };
      discardBody(result.body);
      deps.onRetry?.();
      instance = next;
      continue;
    }
    if (result === 'client-gone') return { ok: false, failure: 'client-gone', attempts: attempt };
    failure = result === 'timeout' ? 'timeout' : 'unreachable';
    if (isLast(deps, attempt, deadline) || !mayResend(request, result)) return { ok: false, failure, attempts: attempt };
    instance = (retries ??= new Retries(deps.balancer, request)).another(instance);
    if (instance) deps.onRetry?.();
  }
  if (failure === 'none-eligible') request.body.discard();
  return { ok: false, failure, attempts: attempt };
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

function mayResend(request: Forwarding, failure: UpstreamFailure): boolean {
  if (!request.body.replayable) return false;
  return failure === 'connect' || IDEMPOTENT.has(request.method);
}

/**
 * One attempt's cancel with its one timer: first the wait for response
 * headers, then (rarely needed) the rest of the deadline for whatever an
 * upstream still reads before answering (a small body it buffers).
 */
class TimedCancel extends AttemptCancel {
  readonly #now: () => number;
  readonly #deadlineAt: number;
  #answered = false;
  #timer: ReturnType<typeof setTimeout>;

  constructor(now: () => number, timeoutMs: number, deadlineAt: number) {
    super();
    this.#now = now;
    this.#deadlineAt = deadlineAt;
    this.#timer = setTimeout(expire, timeoutMs, this);
  }

  /** Response headers arrived: the timeout for them no longer applies. */
  readonly answered = (): void => {
    this.#answered = true;
  };

  /** The timer fired: cancel, unless headers came and some of the deadline is left. */
  expire(): void {
    const left = this.#deadlineAt - this.#now();
    if (this.#answered && left > 0) this.#timer = setTimeout(expire, left, this);
    else this.cancel(TIMEOUT);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

const expire = (cancel: TimedCancel): void => cancel.expire();

/**
 * One attempt on one instance while it runs: its cancel (timeout, client gone)
 * and its count in the balancer's in-flight and ejection figures.
 */
class LiveAttempt {
  readonly request: UpstreamRequest;
  readonly #client: ClientLink;
  readonly #cancel: TimedCancel;
  readonly #stopListening: () => void;
  readonly #attempt: Attempt;

  constructor(deps: ForwardDeps, request: Forwarding, instance: Instance, timeoutMs: number, deadlineAt: number) {
    const cancel = new TimedCancel(deps.now, timeoutMs, deadlineAt);
    this.#client = request.client;
    this.#cancel = cancel;
    this.#stopListening = request.client.onGone(() => cancel.cancel(CLIENT_GONE));
    this.#attempt = deps.balancer.begin(instance);
    this.request = {
      origin: instance.url,
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body.forAttempt(),
      cancel,
      // The timeout bounds the wait for response headers only: bodies (downloads, event streams) take what they take.
      onHeaders: cancel.answered,
    };
  }

  answered(response: UpstreamResponse): UpstreamResponse {
    this.#attempt.end(RETRY_STATUS.has(response.status) ? 'failure' : 'success');
    return response;
  }

  /** How the attempt failed. */
  failed(error: unknown): UpstreamFailure | 'client-gone' {
    if (this.#client.gone) {
      this.#attempt.end('neutral');
      return 'client-gone';
    }
    // An instance that accepts connections and never answers is as broken as one that refuses them.
    this.#attempt.end('failure');
    return this.#cancel.reason === TIMEOUT ? 'timeout' : error instanceof UpstreamError ? error.failure : 'failed';
  }

  stop(): void {
    this.#cancel.stop();
    this.#stopListening();
  }
}
