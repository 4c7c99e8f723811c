import type { AccessRecord } from './access-log.js';
import { errorParts, statusOf, type ErrorParts, type GatewayErrorCode } from './errors.js';
import type { FieldList } from './fields.js';
import { downstreamResponseHeaders } from './headers.js';
import type { Inbound } from './inbound.js';
import type { GatewayMetrics } from './metrics.js';
import type { UpstreamResponse } from './upstream.js';

/**
 * What the proxy decided for a request, for the runtime to send:
 * - `answer`: an instance's response, with the fields to send and whether its body is left out (HEAD, 204, 304);
 * - `error`: the gateway's own JSON error;
 * - `gone`: the client went away; nothing is sent;
 * - `upgraded`: the instance accepted a WebSocket handshake (101): the runtime
 *   sends `headers` with its own `Upgrade`/`Connection` and relays between the
 *   client and `response.native`, the upgraded connection in its own form.
 */
export type Outcome = (
  | { kind: 'answer'; response: UpstreamResponse; headers: FieldList; bodyless: boolean }
  | { kind: 'error'; error: ErrorParts }
  | { kind: 'gone' }
  | { kind: 'upgraded'; response: UpstreamResponse; headers: FieldList }
) & {
  /** The request's access log line, for the runtime to write once the answer is sent; only when the log is on. */
  record?: AccessRecord;
};

/** Where the proxy sends a request's outcome; exactly one of the two is called, once. */
export interface Responder {
  answer(outcome: Outcome): void;
  /** The gateway failed on this request (a bug): answer with a generic error and report it. */
  broke(error: unknown): void;
}

/** Statuses whose responses never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/** An instance's answer as the runtime sends it: the gateway's fields added (`timing` is its `Server-Timing`), the body left out where none may go. */
export function answerOf(response: UpstreamResponse, requestId: string, timing: string, via: string, head: boolean): Outcome {
  const bodyless = head || NO_BODY.has(response.status);
  return { kind: 'answer', response, headers: downstreamResponseHeaders(response.headers, requestId, timing, via), bodyless };
}

/** An instance's 101 to a WebSocket handshake: its end-to-end fields (`Sec-WebSocket-Accept`, `-Protocol`, `-Extensions`) and the gateway's. */
export function upgradedOf(response: UpstreamResponse, requestId: string, timing: string, via: string): Outcome {
  return { kind: 'upgraded', response, headers: downstreamResponseHeaders(response.headers, requestId, timing, via) };
}

/** Why a request got no instance's answer to pass on: its lookup's failures, its body's, then forwarding's (`bad-answer`: a status out of range). */
export type NoAnswer = 'invalid' | 'deferred' | 'unavailable' | 'body-unread' | 'none-eligible' | 'unreachable' | 'timeout' | 'bad-answer' | 'client-gone';

/**
 * The gateway's own error answer, counted. `counted` is the service label for metrics: only a service
 * known to have instances, so made-up names cannot crowd the labels.
 */
export function fail(metrics: GatewayMetrics, requestId: string, code: GatewayErrorCode, message: string, service?: string, retryAfter?: number, counted?: string): Outcome {
  metrics.request(counted, statusOf(code));
  return { kind: 'error', error: errorParts(code, message, { service, requestId, ...(retryAfter === undefined ? {} : { retryAfter }) }) };
}

/**
 * The answer to a request that got no instance's answer; `attempts` are forwarding's. `counted` (see `fail`)
 * labels forwarding's failures and a client gone, never a lookup's or an unread body's.
 */
export function failureOf(metrics: GatewayMetrics, requestId: string, service: string, counted: string | undefined, why: NoAnswer, attempts: number): Outcome {
  switch (why) {
    case 'invalid':
      return fail(metrics, requestId, 'BAD_REQUEST', 'this service name cannot be looked up', service);
    case 'deferred':
      return fail(metrics, requestId, 'NO_INSTANCES', 'too many lookups of new service names; try again shortly', service, 1);
    case 'unavailable':
      return fail(metrics, requestId, 'ETCD_UNAVAILABLE', 'the registry cannot be reached and nothing is cached for this service', service, 1);
    case 'none-eligible':
      return fail(metrics, requestId, 'NO_INSTANCES', 'no instance of this service can take the request', service, 1, counted);
    case 'timeout':
      return fail(metrics, requestId, 'UPSTREAM_TIMEOUT', 'no instance answered in time', service, undefined, counted);
    case 'unreachable':
      return fail(metrics, requestId, 'UPSTREAM_UNREACHABLE', attempts > 1 ? `no instance could be reached (${attempts} tried)` : 'the instance could not be reached', service, undefined, counted);
    case 'bad-answer':
      return fail(metrics, requestId, 'UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on', service, undefined, counted);
    case 'body-unread':
      return fail(metrics, requestId, 'BAD_REQUEST', 'the request body could not be read', service);
    case 'client-gone':
      return clientGone(metrics, counted);
  }
}

/** The client went away: nobody reads this answer; it is counted as nginx counts it (499). */
export function clientGone(metrics: GatewayMetrics, service: string | undefined): Outcome {
  metrics.request(service, 499);
  return { kind: 'gone' };
}

/** Milliseconds with three decimals, as integers are formatted (`toFixed` showed in profiles). */
export function millis(ms: number): string {
  const us = Math.max(0, Math.round(ms * 1000));
  const fraction = us % 1000;
  return `${(us - fraction) / 1000}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}

/** Handles one request to `/svc/{service}/…`; its outcome goes to `responder`, once, possibly before this returns. */
export type ProxyHandler = (request: Inbound, responder: Responder) => void;

/**
 * The promise form of a `ProxyHandler`, for runtimes that answer with a promise (Hono's routes).
 *
 * @example
 * const outcome = await proxyOutcome(gateway.proxy, inbound);
 */
export function proxyOutcome(proxy: ProxyHandler, request: Inbound): Promise<Outcome> {
  return new Promise((resolve, reject) => proxy(request, { answer: resolve, broke: reject }));
}
