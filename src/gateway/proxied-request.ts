import type { PickRequest } from '../balance/index.js';
import type { Snapshot } from '../discovery/index.js';
import { OutgoingBody } from './body.js';
import { errorParts, statusOf, type ErrorParts, type GatewayErrorCode } from './errors.js';
import { forward, type ForwardDeps, type ForwardDone, type Forwarded } from './forward.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { Inbound } from './inbound.js';
import type { GatewayMetrics } from './metrics.js';
import type { ProxyDeps } from './proxy.js';
import { discardBody, type UpstreamResponse } from './upstream.js';
import type { FieldList } from './fields.js';
import type { Instance } from '../registry/index.js';

/**
 * What the proxy decided for a request, for the runtime to send:
 * - `answer`: an instance's response, with the fields to send and whether its body is left out (HEAD, 204, 304);
 * - `error`: the gateway's own JSON error;
 * - `gone`: the client went away; nothing is sent.
 */
export type Outcome =
  | { kind: 'answer'; response: UpstreamResponse; headers: FieldList; bodyless: boolean }
  | { kind: 'error'; error: ErrorParts }
  | { kind: 'gone' };

/** Where the proxy sends a request's outcome; exactly one of the two is called, once. */
export interface Responder {
  answer(outcome: Outcome): void;
  /** The gateway failed on this request (a bug): answer with a generic error and report it. */
  broke(error: unknown): void;
}

/** How a lookup ended: a snapshot to route with, or why there is none. */
export type Lookup = Snapshot | 'invalid' | 'deferred' | 'unavailable';

/** Statuses whose responses never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/** What the proxy knows of a request when it looks its service up. */
export interface Routing {
  /** When the request arrived (the `now` clock): the deadline counts from here. */
  startedAt: number;
  /** When discovery started (`performance.now`). */
  t0: number;
  requestId: string;
  service: string;
  /** The path to send, without the `/svc/{service}` prefix. */
  path: string;
  pick: PickRequest;
}

/**
 * One request from its service's lookup to its outcome. Each step is a method
 * (looked up, body read, forwarded), so a request served from a held
 * snapshot runs to the upstream in one turn, and nothing is allocated per
 * step: no async frames, promises or closures (on Node those cost ~7 % of a
 * bare proxy's CPU per request).
 */
export class ProxiedRequest implements ForwardDone {
  readonly #deps: ProxyDeps;
  readonly #forwarding: ForwardDeps;
  readonly #request: Inbound;
  readonly #responder: Responder;
  readonly #routing: Routing;
  /** When the upstream's time started (`performance.now`): where discovery ended, or after a body read whole. */
  #t1 = 0;
  #discoveryMs = 0;
  /** The service label for metrics: only a service known to have instances, so made-up names cannot crowd the labels. */
  #counted: string | undefined;
  #instances: readonly Instance[] = [];
  #first: Instance | undefined;

  constructor(deps: ProxyDeps, forwarding: ForwardDeps, request: Inbound, responder: Responder, routing: Routing) {
    this.#deps = deps;
    this.#forwarding = forwarding;
    this.#request = request;
    this.#responder = responder;
    this.#routing = routing;
  }

  /** The service's instances were looked up: choose one, read a small body, send. */
  found(snapshot: Lookup): void {
    if (typeof snapshot === 'string') return this.#responder.answer(this.#lookupFailed(snapshot));
    const deps = this.#deps;
    const routable = deps.routable.of(snapshot.instances);
    this.#instances = routable.instances;
    if (routable.instances.length > 0) this.#counted = this.#routing.service;
    // The first choice is part of discovery's time (lookup + selection); retries choose inside forward.
    this.#first = deps.balancer.pick(routable.instances, this.#routing.pick);
    this.#t1 = performance.now();
    this.#discoveryMs = this.#t1 - this.#routing.t0;
    let read: OutgoingBody | Promise<OutgoingBody>;
    try {
      read = OutgoingBody.of(this.#request, deps.config.retry.bufferBytes);
    } catch {
      return this.#responder.answer(this.#bodyFailed());
    }
    if (!(read instanceof Promise)) return this.#send(read);
    read.then(
      (body) => {
        this.#t1 = performance.now();
        this.#guarded(() => this.#send(body));
      },
      () => this.#guarded(() => this.#responder.answer(this.#bodyFailed())),
    );
  }

  /** The forwarding ended: the instance's answer, or the gateway's error. */
  forwarded(result: Forwarded): void {
    this.#guarded(() => this.#responder.answer(this.#outcomeOf(result)));
  }

  #send(body: OutgoingBody): void {
    const request = this.#request;
    const { requestId } = this.#routing;
    const headers = upstreamRequestHeaders(request.fields, { ip: request.ip, proto: request.proto, host: request.host, requestId });
    forward(this.#forwarding, {
      instances: this.#instances,
      pick: this.#routing.pick,
      first: this.#first,
      method: request.method,
      path: this.#routing.path + request.query,
      headers,
      body,
      client: request.client,
      startedAt: this.#routing.startedAt,
    }, this);
  }

  #outcomeOf(result: Forwarded): Outcome {
    const upstreamMs = performance.now() - this.#t1;
    const deps = this.#deps;
    if (!result.ok) {
      if (result.failure === 'client-gone') return clientGone(deps.metrics, this.#counted);
      return this.#forwardFailed(result.failure, result.attempts);
    }
    const { response } = result;
    deps.metrics.upstreamLatency(upstreamMs / 1000);
    if (response.status < 200 || response.status > 599) {
      discardBody(response.body);
      return this.#fail('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on', undefined);
    }
    // Counted before it is sent: the runtime writes the answer after this returns.
    deps.metrics.request(this.#counted, response.status);
    const timing = `discovery;dur=${millis(this.#discoveryMs)}, upstream;dur=${millis(upstreamMs)}`;
    const bodyless = this.#request.method === 'HEAD' || NO_BODY.has(response.status);
    return { kind: 'answer', response, headers: downstreamResponseHeaders(response.headers, this.#routing.requestId, timing), bodyless };
  }

  #lookupFailed(why: 'invalid' | 'deferred' | 'unavailable'): Outcome {
    const { metrics } = this.#deps;
    const { requestId, service } = this.#routing;
    switch (why) {
      case 'invalid':
        return fail(metrics, requestId, 'BAD_REQUEST', 'this service name cannot be looked up', service);
      case 'deferred':
        return fail(metrics, requestId, 'NO_INSTANCES', 'too many lookups of new service names; try again shortly', service, 1);
      case 'unavailable':
        return fail(metrics, requestId, 'ETCD_UNAVAILABLE', 'the registry cannot be reached and nothing is cached for this service', service, 1);
    }
  }

  #bodyFailed(): Outcome {
    const { metrics } = this.#deps;
    if (this.#request.client.gone) return clientGone(metrics, this.#counted);
    return fail(metrics, this.#routing.requestId, 'BAD_REQUEST', 'the request body could not be read', this.#routing.service);
  }

  #forwardFailed(kind: 'none-eligible' | 'unreachable' | 'timeout', attempts: number): Outcome {
    switch (kind) {
      case 'none-eligible':
        return this.#fail('NO_INSTANCES', 'no instance of this service can take the request', 1);
      case 'timeout':
        return this.#fail('UPSTREAM_TIMEOUT', 'no instance answered in time', undefined);
      case 'unreachable':
        return this.#fail('UPSTREAM_UNREACHABLE', attempts > 1 ? `no instance could be reached (${attempts} tried)` : 'the instance could not be reached', undefined);
    }
  }

  #fail(code: GatewayErrorCode, message: string, retryAfter: number | undefined): Outcome {
    return fail(this.#deps.metrics, this.#routing.requestId, code, message, this.#routing.service, retryAfter, this.#counted);
  }

  /** Runs a step called back from outside (a body read, an upstream's reply), where a throw would reach no one. */
  #guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#responder.broke(error);
    }
  }
}

/** The gateway's own error answer, counted (`counted`: the service label for metrics, see `ProxiedRequest`). */
export function fail(metrics: GatewayMetrics, requestId: string, code: GatewayErrorCode, message: string, service?: string, retryAfter?: number, counted?: string): Outcome {
  metrics.request(counted, statusOf(code));
  return { kind: 'error', error: errorParts(code, message, { service, requestId, ...(retryAfter === undefined ? {} : { retryAfter }) }) };
}

/** The client went away: nobody reads this answer; it is counted as nginx counts it (499). */
function clientGone(metrics: GatewayMetrics, service: string | undefined): Outcome {
  metrics.request(service, 499);
  return { kind: 'gone' };
}

/** Milliseconds with three decimals, as integers are formatted (`toFixed` showed in profiles). */
export function millis(ms: number): string {
  const us = Math.max(0, Math.round(ms * 1000));
  const fraction = us % 1000;
  return `${(us - fraction) / 1000}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}
