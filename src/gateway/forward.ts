import type { Balancer, PickRequest } from '../balance/index.js';
import type { Instance } from '../registry/index.js';
import type { OutgoingBody } from './body.js';
import type { ClientLink } from './inbound.js';
import { AttemptCancel, discardBody, UpstreamError, type Upstream, type UpstreamFailure, type UpstreamResponse } from './upstream.js';

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
  const tried = new Set<Instance>();
  const pick = { ...request.pick, exclude: tried };
  let instance = 'first' in request ? request.first : deps.balancer.pick(request.instances, pick);
  let failure: 'none-eligible' | 'unreachable' | 'timeout' = 'none-eligible';
  for (let attempt = 1; instance; attempt++) {
    tried.add(instance);
    const remaining = deadline - deps.now();
    if (remaining <= 0) return { ok: false, failure: 'timeout', attempts: attempt - 1 };
    const result = await attemptOn(deps, request, instance, Math.min(deps.retry.upstreamTimeoutMs, remaining), remaining);
    const last = attempt >= deps.retry.maxAttempts || deadline - deps.now() <= 0;
    if ('response' in result) {
      const retry = RETRY_STATUS.has(result.response.status) && !last && mayResend(request, 'failed');
      const next = retry ? deps.balancer.pick(request.instances, pick) : undefined;
      if (!next) return { ok: true, response: result.response, instance, attempts: attempt };
      discardBody(result.response.body);
      deps.onRetry?.();
      instance = next;
      continue;
    }
    if (result.failure === 'client-gone') return { ok: false, failure: 'client-gone', attempts: attempt };
    failure = result.failure === 'timeout' ? 'timeout' : 'unreachable';
    if (last || !mayResend(request, result.failure)) return { ok: false, failure, attempts: attempt };
    instance = deps.balancer.pick(request.instances, pick);
    if (instance) deps.onRetry?.();
  }
  if (failure === 'none-eligible') request.body.discard();
  return { ok: false, failure, attempts: tried.size };
}

function mayResend(request: Forwarding, failure: UpstreamFailure): boolean {
  if (!request.body.replayable) return false;
  return failure === 'connect' || IDEMPOTENT.has(request.method);
}

type AttemptResult = { response: UpstreamResponse } | { failure: UpstreamFailure | 'client-gone' };

async function attemptOn(deps: ForwardDeps, request: Forwarding, instance: Instance, timeoutMs: number, remainingMs: number): Promise<AttemptResult> {
  if (request.client.gone) return { failure: 'client-gone' };
  const cancel = new AttemptCancel();
  // One timer per attempt: the wait for response headers, then (rarely needed) the
  // rest of the deadline for whatever an upstream still reads before answering (a small body it buffers).
  const deadlineAt = deps.now() + remainingMs;
  let answered = false;
  const expire = (): void => {
    const left = deadlineAt - deps.now();
    if (answered && left > 0) timer = setTimeout(expire, left);
    else cancel.cancel(TIMEOUT);
  };
  let timer = setTimeout(expire, timeoutMs);
  const stopListening = request.client.onGone(() => cancel.cancel(CLIENT_GONE));
  const attempt = deps.balancer.begin(instance);
  try {
    const response = await deps.upstream.send({
      origin: instance.url,
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body.forAttempt(),
      cancel,
      // The timeout bounds the wait for response headers only: bodies (downloads, event streams) take what they take.
      onHeaders: () => {
        answered = true;
      },
    });
    attempt.end(RETRY_STATUS.has(response.status) ? 'failure' : 'success');
    return { response };
  } catch (error) {
    if (request.client.gone) {
      attempt.end('neutral');
      return { failure: 'client-gone' };
    }
    const failure: UpstreamFailure = cancel.reason === TIMEOUT ? 'timeout' : error instanceof UpstreamError ? error.failure : 'failed';
    // An instance that accepts connections and never answers is as broken as one that refuses them.
    attempt.end('failure');
    return { failure };
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}
