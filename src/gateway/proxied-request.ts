import { parseTags, type PickRequest } from '../balance/index.js';
import type { Instance } from '../registry/index.js';
import { AccessRecord, type AccessFacts } from './access-log.js';
import { OutgoingBody } from './body.js';
import { hashKeyOf } from './client-side.js';
import type { GatewayErrorCode } from './errors.js';
import { fieldValue } from './fields.js';
import { forward, type ForwardDone, type Forwarded, type Forwarding } from './forward.js';
import { downstreamResponseHeaders, passesThrough, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { ClientLink, Inbound } from './inbound.js';
import { lookup, type Lookup } from './lookup.js';
import { clientGone, fail, millis, type Outcome, type Responder } from './outcome.js';
import type { ProxyDeps, Shared } from './proxy.js';
import { parseTarget } from './target.js';
import { discardBody } from './upstream.js';

/** What a request holds before its lookup and its send: shared, so none is allocated per request. */
const NONE: readonly never[] = Object.freeze([]);

/** Statuses whose responses never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/**
 * One request from its arrival to its outcome. Each step is a method
 * (checked, looked up, body read, forwarded), so a request served from a held
 * snapshot runs to the upstream in one turn, and nothing is allocated per
 * step: no async frames, promises or closures (on Node those cost ~7 % of a
 * bare proxy's CPU per request). It is also the `Forwarding` that `forward`
 * reads, so the request is not copied for it.
 */
export class ProxiedRequest implements Forwarding, ForwardDone {
  readonly #deps: ProxyDeps;
  readonly #shared: Shared;
  readonly #request: Inbound;
  readonly #responder: Responder;
  readonly startedAt: number;
  readonly #requestId: string;
  readonly client: ClientLink;
  readonly method: string;
  /** The client's address: the peer's, or what a trusted proxy in front says it is. */
  readonly clientIp: string | undefined;
  #service = '';
  /** When discovery started, then when the upstream's time started (`performance.now`): where discovery ended, or after a body read whole. */
  #t = 0;
  #discoveryMs = 0;
  /** The service label for metrics: only a service known to have instances, so made-up names cannot crowd the labels. */
  #counted: string | undefined;
  /** For the access log: when the request arrived (`performance.now`, only read when the log is on), and how forwarding went. */
  readonly #arrived: number;
  #instance: string | undefined;
  #attempts = 0;
  path = '';
  pick: PickRequest;
  instances: readonly Instance[] = NONE;
  first: Instance | undefined;
  headers: readonly string[] = NONE;
  body: OutgoingBody = OutgoingBody.empty;

  constructor(deps: ProxyDeps, shared: Shared, request: Inbound, responder: Responder) {
    this.#deps = deps;
    this.#shared = shared;
    this.#request = request;
    this.#responder = responder;
    this.startedAt = deps.now();
    this.#requestId = requestIdOf(request.fields);
    this.client = request.client;
    this.method = request.method;
    this.clientIp = shared.trusted.none ? request.ip : shared.trusted.clientOf(request.ip, request.fields);
    this.pick = shared.plainPick;
    this.#arrived = deps.accessLog === undefined ? 0 : performance.now();
  }

  /** Checks the request and looks its service up; goes on at once when a snapshot is held. */
  start(): void {
    const outcome = this.#check();
    if (outcome) return this.#answer(outcome);
    const found = lookup(this.#deps.resolver, this.#deps.coldLookups, this.#request, this.#service, this.clientIp);
    // A snapshot that can be served now is used in this turn of the event loop: waiting would time other requests' work as discovery.
    if (!(found instanceof Promise)) return this.#found(found);
    found.then(
      (snapshot) => this.#foundLater(snapshot),
      (error: unknown) => this.#broke(error),
    );
  }

  /** The forwarding ended: the instance's answer, or the gateway's error. */
  forwarded(result: Forwarded): void {
    let outcome: Outcome;
    try {
      outcome = this.#outcomeOf(result);
    } catch (error) {
      // Nobody will read it: an unread stream would hold its connection.
      if (result.ok) discardBody(result.response.body);
      return this.#broke(error);
    }
    this.#answer(outcome);
  }

  /** A step called back into by the upstream threw (a bug): answered as the gateway's failure. */
  broke(error: unknown): void {
    this.#broke(error);
  }

  /** Every outcome goes to the runtime from here, with its access log line when the log is on. */
  #answer(outcome: Outcome): void {
    const sink = this.#deps.accessLog;
    if (sink !== undefined) outcome.record = new AccessRecord(sink, this.#facts(), this.#arrived);
    this.#responder.answer(outcome);
  }

  #broke(error: unknown): void {
    const sink = this.#deps.accessLog;
    // The runtime answers 500 with its generic error; the line is written now, as nothing more is learned.
    if (sink !== undefined) new AccessRecord(sink, this.#facts(), this.#arrived).sent(500, 0);
    this.#responder.broke(error);
  }

  #facts(): AccessFacts {
    const request = this.#request;
    return { requestId: this.#requestId, client: this.clientIp, method: this.method, path: request.path, service: this.#service || undefined, instance: this.#instance, attempts: this.#attempts };
  }

  /** What is wrong with the request before any lookup, if anything; sets the service, path and pick. */
  #check(): Outcome | undefined {
    const { fields } = this.#request;
    const { limits } = this.#deps.config;
    // Refused, never truncated: the fields the gateway adds must reach the instance within its own limits.
    if (fields.length > limits.maxHeaders * 2) return this.#fail('TOO_MANY_HEADERS', `a request may carry at most ${limits.maxHeaders} header fields`);
    const target = parseTarget(this.#request.path);
    if (!target.ok) return this.#fail('BAD_REQUEST', target.message);
    const service = (this.#service = target.service);
    this.path = target.path + this.#request.query;
    const refused = this.#refused(limits);
    if (refused) return refused;
    if (!this.#shared.exposed(service)) return this.#fail('NOT_FOUND', 'this gateway does not route to that service');
    const tagHeader = fieldValue(fields, 'x-edge-tags');
    const requestTags = tagHeader === undefined ? undefined : parseTags(tagHeader);
    if (requestTags === undefined && tagHeader !== undefined) return this.#fail('BAD_REQUEST', 'x-edge-tags must be key=value pairs, comma-separated');
    // ETCD_EDGE_TAGS are required of every routed instance: a request may narrow them, never override them.
    const { config } = this.#deps;
    const required = config.tags;
    if (requestTags && Object.keys(requestTags).some((key) => Object.hasOwn(required, key) && required[key] !== requestTags[key])) {
      return this.#fail('NO_INSTANCES', 'no instance of this service can take the request', 1);
    }
    this.#t = performance.now();
    const zone = this.#request.zone ?? config.zone;
    const hashKey = hashKeyOf(config.hashKey, fields, this.clientIp);
    if (requestTags !== undefined || zone !== undefined || hashKey !== undefined) this.pick = pickRequest(required, requestTags, zone, hashKey);
    return undefined;
  }

  /** The edge's limits: TRACE, loops through this deployment, a body declared too large. */
  #refused(limits: ProxyDeps['config']['limits']): Outcome | undefined {
    const request = this.#request;
    if (request.method === 'TRACE' && !limits.allowTrace) return this.#fail('METHOD_NOT_ALLOWED', 'TRACE is not forwarded');
    const via = fieldValue(request.fields, 'via');
    if (via !== undefined && passesThrough(via, this.#shared.via) >= limits.maxHops) {
      return this.#fail('LOOP_DETECTED', `the request has passed through this gateway ${limits.maxHops} times already`);
    }
    if (limits.maxBodyBytes !== undefined && request.hasBody) {
      const length = Number(fieldValue(request.fields, 'content-length'));
      if (length > limits.maxBodyBytes) return this.#fail('PAYLOAD_TOO_LARGE', `the request body may be at most ${limits.maxBodyBytes} bytes`);
    }
    return undefined;
  }

  /** `#found` for a lookup that waited on etcd: called from a promise, where a throw would reach no one. */
  #foundLater(snapshot: Lookup): void {
    try {
      this.#found(snapshot);
    } catch (error) {
      this.#broke(error);
    }
  }

  /** The service's instances were looked up: choose one, read a small body, send. */
  #found(snapshot: Lookup): void {
    if (typeof snapshot === 'string') return this.#answer(this.#lookupFailed(snapshot));
    const deps = this.#deps;
    const routable = deps.routable.of(snapshot.instances);
    this.instances = routable.instances;
    if (routable.instances.length > 0) this.#counted = this.#service;
    // The first choice is part of discovery's time (lookup + selection); retries choose inside forward.
    this.first = deps.balancer.pick(routable.instances, this.pick);
    const t = performance.now();
    this.#discoveryMs = t - this.#t;
    this.#t = t;
    let read: OutgoingBody | Promise<OutgoingBody>;
    try {
      read = OutgoingBody.of(this.#request, deps.config.retry.bufferBytes, deps.config.limits.maxBodyBytes);
    } catch {
      return this.#answer(this.#bodyFailed());
    }
    if (!(read instanceof Promise)) return this.#send(read);
    read.then(
      (body) => {
        this.#t = performance.now();
        this.#sendGuarded(body);
      },
      () => this.#sendGuarded(undefined),
    );
  }

  #sendGuarded(body: OutgoingBody | undefined): void {
    try {
      if (body) this.#send(body);
      else this.#answer(this.#bodyFailed());
    } catch (error) {
      this.#broke(error);
    }
  }

  #send(body: OutgoingBody): void {
    const request = this.#request;
    this.body = body;
    const { via, trusted } = this.#shared;
    const trust = !trusted.none && trusted.trusts(request.ip);
    this.headers = upstreamRequestHeaders(request.fields, { ip: request.ip, proto: request.proto, host: request.host, requestId: this.#requestId, via, trusted: trust });
    forward(this.#shared.forwarding, this, this);
  }

  #outcomeOf(result: Forwarded): Outcome {
    const upstreamMs = performance.now() - this.#t;
    const { metrics } = this.#deps;
    this.#attempts = result.attempts;
    if (result.ok) this.#instance = result.instance.url;
    if (!result.ok) {
      if (result.failure === 'client-gone') return clientGone(metrics, this.#counted);
      if (result.failure === 'body-too-large') return this.#fail('PAYLOAD_TOO_LARGE', `the request body may be at most ${this.#deps.config.limits.maxBodyBytes} bytes`, undefined, this.#counted);
      return this.#forwardFailed(result.failure, result.attempts);
    }
    const { response } = result;
    metrics.upstreamLatency(upstreamMs / 1000);
    if (response.status < 200 || response.status > 599) {
      discardBody(response.body);
      return this.#fail('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on', undefined, this.#counted);
    }
    // Counted before it is sent: the runtime writes the answer after this returns.
    metrics.request(this.#counted, response.status);
    const timing = `discovery;dur=${millis(this.#discoveryMs)}, upstream;dur=${millis(upstreamMs)}`;
    const bodyless = this.method === 'HEAD' || NO_BODY.has(response.status);
    return { kind: 'answer', response, headers: downstreamResponseHeaders(response.headers, this.#requestId, timing, this.#shared.via), bodyless };
  }

  #lookupFailed(why: 'invalid' | 'deferred' | 'unavailable'): Outcome {
    switch (why) {
      case 'invalid':
        return this.#fail('BAD_REQUEST', 'this service name cannot be looked up');
      case 'deferred':
        return this.#fail('NO_INSTANCES', 'too many lookups of new service names; try again shortly', 1);
      case 'unavailable':
        return this.#fail('ETCD_UNAVAILABLE', 'the registry cannot be reached and nothing is cached for this service', 1);
    }
  }

  #bodyFailed(): Outcome {
    if (this.#request.client.gone) return clientGone(this.#deps.metrics, this.#counted);
    return this.#fail('BAD_REQUEST', 'the request body could not be read');
  }

  #forwardFailed(kind: 'none-eligible' | 'unreachable' | 'timeout', attempts: number): Outcome {
    switch (kind) {
      case 'none-eligible':
        return this.#fail('NO_INSTANCES', 'no instance of this service can take the request', 1, this.#counted);
      case 'timeout':
        return this.#fail('UPSTREAM_TIMEOUT', 'no instance answered in time', undefined, this.#counted);
      case 'unreachable':
        return this.#fail('UPSTREAM_UNREACHABLE', attempts > 1 ? `no instance could be reached (${attempts} tried)` : 'the instance could not be reached', undefined, this.#counted);
    }
  }

  /** The gateway's own error; `counted` only where the service is known to have instances. */
  #fail(code: GatewayErrorCode, message: string, retryAfter?: number, counted?: string): Outcome {
    return fail(this.#deps.metrics, this.#requestId, code, message, this.#service || undefined, retryAfter, counted);
  }
}

/** What selection needs of a request that brings tags, a zone or a hash key. */
function pickRequest(required: Readonly<Record<string, string>>, requestTags: Readonly<Record<string, string>> | undefined, zone: string | undefined, hashKey: string | undefined): PickRequest {
  const pick: PickRequest = { tags: requestTags ? { ...required, ...requestTags } : required };
  if (zone !== undefined) pick.zone = zone;
  if (hashKey !== undefined) pick.hashKey = hashKey;
  return pick;
}
