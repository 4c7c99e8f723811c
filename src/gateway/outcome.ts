import type { AccessRecord } from './access-log.js';
import { errorParts, statusOf, type ErrorParts, type GatewayErrorCode } from './errors.js';
import type { FieldList } from './fields.js';
import type { GatewayMetrics } from './metrics.js';
import type { UpstreamResponse } from './upstream.js';

/**
 * What the proxy decided for a request, for the runtime to send:
 * - `answer`: an instance's response, with the fields to send and whether its body is left out (HEAD, 204, 304);
 * - `error`: the gateway's own JSON error;
 * - `gone`: the client went away; nothing is sent.
 */
export type Outcome = (
  | { kind: 'answer'; response: UpstreamResponse; headers: FieldList; bodyless: boolean }
  | { kind: 'error'; error: ErrorParts }
  | { kind: 'gone' }
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

/**
 * The gateway's own error answer, counted. `counted` is the service label for metrics: only a service
 * known to have instances, so made-up names cannot crowd the labels.
 */
export function fail(metrics: GatewayMetrics, requestId: string, code: GatewayErrorCode, message: string, service?: string, retryAfter?: number, counted?: string): Outcome {
  metrics.request(counted, statusOf(code));
  return { kind: 'error', error: errorParts(code, message, { service, requestId, ...(retryAfter === undefined ? {} : { retryAfter }) }) };
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
