/**
 * The proxy: one request to `/svc/{service}/…`, from arrival to outcome, as
 * one state machine (`ProxiedRequest`). Every runtime drives it the same way:
 * `createProxy(deps)(inbound, responder)`.
 *
 * ```
 * checking ──▶ lookup ──▶ body ──▶ forwarding ──▶ answered
 *    │            │  │      │                       ▲
 *    │            │  └──▶ upgrading ────────────────┤   (`Inbound.upgrade`: a WebSocket handshake)
 *    └────────────┴─────────┴── refused, no route ──┘   (the gateway's own error, or `gone`)
 * any state ── a step threw (a bug) ──▶ failed          (`Responder.broke`)
 * ```
 *
 * - checking: the edge's limits, the target, exposure and tags (`routeOf`, target.ts);
 *   a WebSocket handshake where the upstream has no `upgrade` is refused here (501);
 * - lookup: the service's snapshot, at once when one is held (`#lookup`), else from etcd;
 * - body: the first instance chosen (`#found`), a small body read whole so a retry can resend it;
 * - forwarding: `forward` (forward.ts) tries instances in turn and reports to `forwarded`;
 * - upgrading: a WebSocket handshake (the runtime set `Inbound.upgrade`), past
 *   the same lookup, pick, address policy and ejection: `forward` sends it with
 *   `Upstream.upgrade` instead of `send` (connect failures retried elsewhere,
 *   the same deadline), and an instance's 101 becomes the outcome `upgraded`,
 *   whose connection the runtime relays; any other answer is passed on.
 *   Ordinary requests pay one boolean check for it, in `#found`.
 *
 * gRPC (the runtime set `Inbound.grpc`: Node over HTTP/2) takes the same
 * states and differs in three places: checking routes `/{pkg.Service}/{Method}`
 * to a registry service (grpc.ts) and reads `grpc-timeout`; forwarding goes
 * through the gRPC upstream (`ProxyDeps.grpcUpstream`, HTTP/2 to instances)
 * with gRPC's retry rules and the call's deadline (forward.ts); and the
 * runtime writes the outcome in gRPC's terms (the instance's trailers passed
 * on, the gateway's own errors as `grpc-status` on HTTP 200). A gRPC content
 * type on any other request is refused in checking.
 *
 * A warm request (its snapshot held) runs from checking to the upstream's send
 * in one turn. One run-once guard, `#finish`, drops whatever reaches the
 * request once it is answered or failed (a late report, a second error). One
 * error route, `broke`, takes every step's throw. `forward` reads a plain
 * readonly `Forwarding`, not this controller. Steps are methods, not closures
 * or promises: on Node those cost ~7 % of a bare proxy's CPU per request.
 */
import type { Balancer, PickRequest } from '../balance/index.js';
import type { Resolver, Snapshot } from '../discovery/index.js';
import { RegistryError, type Instance } from '../registry/index.js';
import { AccessRecord, type AccessFacts, type AccessLogSink } from './access-log.js';
import type { RoutableCache } from './address-policy.js';
import { OutgoingBody } from './body.js';
import { TrustedProxies } from './client-address.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import type { Deadlines } from './deadlines.js';
import type { GatewayErrorCode } from './errors.js';
import { exposedServices } from './exposed-services.js';
import { forward, type ForwardDeps, type ForwardDone, type Forwarded } from './forward.js';
import { requestIdOf, upstreamRequestHeaders, viaEntry } from './headers.js';
import type { Inbound } from './inbound.js';
import type { GatewayMetrics } from './metrics.js';
import { answerOf, fail, failureOf, millis, upgradedOf, type NoAnswer, type Outcome, type ProxyHandler, type Responder } from './outcome.js';
import { bodyTooLarge, routeOf, zonePicks, type EdgeRules, type GrpcCall } from './target.js';
import { discardBody, type Cancellable, type Upstream, type UpstreamResponse } from './upstream.js';

/** What the proxy is built from: the gateway's parts. */
export interface ProxyDeps {
  config: GatewayConfig;
  resolver: Resolver;
  routable: RoutableCache;
  balancer: Balancer;
  upstream: Upstream;
  metrics: GatewayMetrics;
  coldLookups: ColdLookupLimiter;
  now: () => number;
  /** Where access log lines go; undefined when the log is off. */
  accessLog?: AccessLogSink | undefined;
  /** Sends gRPC calls (HTTP/2 to instances: Node's `H2Upstream`); absent where gRPC is not forwarded. */
  grpcUpstream?: Upstream | undefined;
  /** How attempts' timeouts are kept; default a timer each. */
  deadlines?: Deadlines | undefined;
}

/** The proxy, with what every request shares built once. */
export function createProxy(deps: ProxyDeps): ProxyHandler {
  const forwarding: ForwardDeps = { balancer: deps.balancer, upstream: deps.upstream, retry: deps.config.retry, now: deps.now, deadlines: deps.deadlines, onRetry: () => deps.metrics.retry() };
  const shared: Shared = {
    forwarding,
    upgrading: handshakes(forwarding),
    exposed: exposedServices(deps.config.services),
    plainPick: Object.freeze({ tags: deps.config.tags }),
    zonePick: zonePicks(deps.config.tags),
    via: viaEntry(deps.config.deployment),
    trusted: new TrustedProxies(deps.config.trustedProxies),
    upgrades: deps.upstream.upgrade !== undefined,
    calling: deps.grpcUpstream && { ...forwarding, upstream: deps.grpcUpstream, grpc: true },
    grpc: deps.grpcUpstream !== undefined,
  };
  return (request, responder) => new ProxiedRequest(deps, shared, request, responder).start();
}

/** What every request of one proxy shares. */
interface Shared extends EdgeRules {
  forwarding: ForwardDeps;
  /** Forwarding for WebSocket handshakes: the upstream's `upgrade` in place of `send`; undefined where it has none. */
  upgrading: ForwardDeps | undefined;
  /** Forwarding for gRPC calls: the gRPC upstream and gRPC's retry rules; undefined where there is none. */
  calling: ForwardDeps | undefined;
  trusted: TrustedProxies;
}

/** `forwarding` with the handshake as its attempt: retries, deadline and ejection stay forwarding's own. */
function handshakes(forwarding: ForwardDeps): ForwardDeps | undefined {
  const { upstream } = forwarding;
  if (upstream.upgrade === undefined) return undefined;
  return { ...forwarding, upstream: { send: (request, reply) => upstream.upgrade!(request, reply) } };
}

/** Where a request is (see the file's top); `answered` and `failed` are final. */
type RequestState = 'checking' | 'lookup' | 'body' | 'forwarding' | 'upgrading' | 'answered' | 'failed';

/** How a lookup ended: a snapshot to route with, or why there is none. */
type Lookup = Snapshot | 'invalid' | 'deferred' | 'unavailable';

const NO_OPTIONS = Object.freeze({});
/** What a request holds before its lookup: shared, so none is allocated per request. */
const NONE: readonly never[] = Object.freeze([]);

/** One request from its arrival to its outcome: the controller of the states above. */
class ProxiedRequest implements ForwardDone {
  readonly #deps: ProxyDeps;
  readonly #shared: Shared;
  readonly #request: Inbound;
  readonly #responder: Responder;
  #state: RequestState = 'checking';
  readonly #requestId: string;
  /** The client's address: the peer's, or what a trusted proxy in front says it is. */
  readonly #clientIp: string | undefined;
  /** When the request arrived (ms, the `now` clock): forwarding's deadline counts from here. */
  readonly #startedAt: number;
  /** When the request arrived (`performance.now`), for the access log; only read when the log is on. */
  readonly #arrivedAt: number;
  /** When discovery (lookup and first choice) started, and when the upstream's time started (`performance.now`). */
  #discoveryStartedAt = 0;
  #upstreamStartedAt = 0;
  #discoveryMs = 0;
  // What checking found: the service (also when refused after it was known), the path to send on, what selection reads.
  #service = '';
  #path = '';
  #pick: PickRequest;
  #grpc: GrpcCall | undefined;
  // What the lookup found; the service label for metrics only once it is known to have instances, so made-up names cannot crowd the labels.
  #counted: string | undefined;
  #instances: readonly Instance[] = NONE;
  #first: Instance | null = null;
  // How forwarding went, for the access log.
  #instance: string | undefined;
  #attempts = 0;

  constructor(deps: ProxyDeps, shared: Shared, request: Inbound, responder: Responder) {
    this.#deps = deps;
    this.#shared = shared;
    this.#request = request;
    this.#responder = responder;
    this.#startedAt = deps.now();
    this.#arrivedAt = deps.accessLog === undefined ? 0 : performance.now();
    this.#requestId = requestIdOf(request.fields);
    this.#clientIp = shared.trusted.none ? request.ip : shared.trusted.clientOf(request.ip, request.fields);
    this.#pick = shared.plainPick;
  }

  /** checking, then lookup; on at once when a snapshot is held. */
  start(): void {
    try {
      const route = routeOf(this.#request, this.#deps.config, this.#shared, this.#clientIp);
      this.#service = route.service ?? '';
      if (!route.ok) return this.#answer(this.#fail(route.code, route.message, route.retryAfter));
      this.#path = route.path;
      this.#pick = route.pick;
      this.#grpc = route.grpc;
      this.#state = 'lookup';
      this.#discoveryStartedAt = performance.now();
      const found = this.#lookup(route.service);
      // A snapshot that can be served now is used in this turn of the event loop: waiting would time other requests' work as discovery.
      if (!(found instanceof Promise)) return this.#found(found);
      found.then(
        (snapshot) => this.#resume(snapshot, undefined),
        (error: unknown) => this.broke(error),
      );
    } catch (error) {
      this.broke(error);
    }
  }

  /** forwarding ended (forward.ts): the instance's answer, or why there is none. */
  forwarded(result: Forwarded): void {
    const state = this.#state;
    if (state !== 'forwarding' && state !== 'upgrading') {
      // Reported after the request was over: nobody will read it, and an unread stream would hold its connection.
      if (result.ok) discardResponse(result.response);
      return;
    }
    let outcome: Outcome;
    try {
      this.#attempts = result.attempts;
      if (result.ok) this.#instance = result.instance.url;
      outcome = state === 'forwarding' ? this.#outcomeOf(result) : this.#upgradeOutcomeOf(result);
    } catch (error) {
      if (result.ok) discardResponse(result.response);
      return this.broke(error);
    }
    this.#answer(outcome);
  }

  /** failed: the one error route, for every step (forwarding's too) that threw. The runtime answers 500 with its generic error. */
  broke(error: unknown): void {
    if (!this.#finish('failed')) return;
    const sink = this.#deps.accessLog;
    // The line is written now, as nothing more is learned.
    if (sink !== undefined) new AccessRecord(sink, this.#facts(), this.#arrivedAt).sent(500, 0);
    this.#responder.broke(error);
  }

  /** The one run-once guard: true for the first move to a final state, false ever after. */
  #finish(final: 'answered' | 'failed'): boolean {
    if (this.#state === 'answered' || this.#state === 'failed') return false;
    this.#state = final;
    return true;
  }

  /** answered: every outcome goes to the runtime from here, with its access log line when the log is on. */
  #answer(outcome: Outcome): void {
    const sink = this.#deps.accessLog;
    if (sink !== undefined) outcome.record = new AccessRecord(sink, this.#facts(), this.#arrivedAt);
    if (this.#finish('answered')) this.#responder.answer(outcome);
    else if (outcome.kind === 'answer' || outcome.kind === 'upgraded') discardResponse(outcome.response);
  }

  #facts(): AccessFacts {
    const request = this.#request;
    return { requestId: this.#requestId, client: this.#clientIp, method: request.method, path: request.path, service: this.#service || undefined, instance: this.#instance, attempts: this.#attempts };
  }

  /**
   * lookup: the service's snapshot, at once when one can be served now. Names
   * with nothing behind them (never seen, or empty) cost etcd reads, so those
   * are rationed per client.
   */
  #lookup(service: string): Lookup | Promise<Lookup> {
    const { resolver } = this.#deps;
    const held = resolver.peek(service);
    const empty = !held || (held.instances.length === 0 && held.skipped.length === 0);
    if (empty && !this.#deps.coldLookups.take(this.#clientIp)) return 'deferred';
    try {
      const { waitUntil } = this.#request;
      const found = resolver.resolveNow(service, waitUntil ? { waitUntil } : NO_OPTIONS);
      return found instanceof Promise ? found.catch(lookupFailure) : found;
    } catch (error) {
      return lookupFailure(error);
    }
  }

  /** lookup → body: choose the first instance (timed with discovery), then read a small body whole. */
  #found(snapshot: Lookup): void {
    if (typeof snapshot === 'string') return this.#answer(this.#noAnswer(snapshot));
    const deps = this.#deps;
    const { instances } = deps.routable.of(snapshot.instances);
    this.#instances = instances;
    if (instances.length > 0) this.#counted = this.#service;
    this.#first = deps.balancer.pick(instances, this.#pick) ?? null;
    this.#upstreamStartedAt = performance.now();
    this.#discoveryMs = this.#upstreamStartedAt - this.#discoveryStartedAt;
    if (this.#request.upgrade) return this.#upgrade();
    this.#state = 'body';
    let read: OutgoingBody | Promise<OutgoingBody>;
    try {
      read = OutgoingBody.of(this.#request, deps.config.retry.bufferBytes, deps.config.limits.maxBodyBytes);
    } catch {
      return this.#answer(this.#noAnswer('body-unread'));
    }
    if (!(read instanceof Promise)) return this.#forward(read);
    read.then(
      (body) => this.#resume(undefined, body),
      () => this.#resume(undefined, null),
    );
  }

  /** A step that waited goes on (a snapshot from etcd, or the body read: null when it failed), from a promise, where a throw would reach no one. */
  #resume(snapshot: Lookup | undefined, body: OutgoingBody | null | undefined): void {
    try {
      if (snapshot !== undefined) return this.#found(snapshot);
      // The upstream's time starts once the body is in: the client's upload is not the instance's.
      this.#upstreamStartedAt = performance.now();
      if (body) this.#forward(body);
      else this.#answer(this.#noAnswer('body-unread'));
    } catch (error) {
      this.broke(error);
    }
  }

  /** body → forwarding: the request as `forward` reads it, plain data. */
  #forward(body: OutgoingBody): void {
    const request = this.#request;
    const headers = this.#upstreamHeaders();
    this.#state = 'forwarding';
    const grpc = this.#grpc;
    // Checking let a gRPC call through only where there is `calling`.
    const forwarding = grpc === undefined ? this.#shared.forwarding : this.#shared.calling!;
    forward(forwarding, { method: request.method, path: this.#path, headers, body, client: request.client, instances: this.#instances, pick: this.#pick, first: this.#first, startedAt: this.#startedAt, timeoutMs: grpc?.timeoutMs }, this);
  }

  /** lookup → upgrading: the handshake, bodiless, through forwarding with the upstream's `upgrade` (checking made sure there is one). */
  #upgrade(): void {
    const request = this.#request;
    const headers = this.#upstreamHeaders();
    this.#state = 'upgrading';
    forward(this.#shared.upgrading!, { method: 'GET', path: this.#path, headers, body: OutgoingBody.empty, client: request.client, instances: this.#instances, pick: this.#pick, first: this.#first, startedAt: this.#startedAt }, this);
  }

  /** The end-to-end fields and the forwarding trail (hop-by-hop ones, `Upgrade` included, are the upstream's to write). */
  #upstreamHeaders(): string[] {
    const request = this.#request;
    const { via, trusted } = this.#shared;
    const trust = !trusted.none && trusted.trusts(request.ip);
    return upstreamRequestHeaders(request.fields, { ip: request.ip, proto: request.proto, host: request.host, requestId: this.#requestId, via, trusted: trust });
  }

  /** forwarding → answered: the instance's answer as the runtime sends it, or the gateway's error. */
  #outcomeOf(result: Forwarded): Outcome {
    if (!result.ok) {
      if (result.failure !== 'body-too-large') return this.#noAnswer(result.failure, result.attempts);
      return this.#fail('PAYLOAD_TOO_LARGE', bodyTooLarge(this.#deps.config.limits.maxBodyBytes), undefined, this.#counted);
    }
    const { metrics } = this.#deps;
    const { response } = result;
    const upstreamMs = performance.now() - this.#upstreamStartedAt;
    metrics.upstreamLatency(upstreamMs / 1000);
    if (response.status < 200 || response.status > 599) {
      discardBody(response.body);
      return this.#noAnswer('bad-answer');
    }
    // Counted before it is sent: the runtime writes the answer after this returns.
    metrics.request(this.#counted, response.status, upstreamMs);
    const timing = `discovery;dur=${millis(this.#discoveryMs)}, upstream;dur=${millis(upstreamMs)}`;
    return answerOf(response, this.#requestId, timing, this.#shared.via, this.#request.method === 'HEAD');
  }

  /** upgrading → answered: the instance's 101 for the runtime to relay, its refusal passed on, or the gateway's error; each counted as a handshake. */
  #upgradeOutcomeOf(result: Forwarded): Outcome {
    const { metrics } = this.#deps;
    if (!result.ok) {
      metrics.upgrade('failed');
      return this.#noAnswer(result.failure === 'body-too-large' ? 'unreachable' : result.failure, result.attempts);
    }
    const { response } = result;
    const upstreamMs = performance.now() - this.#upstreamStartedAt;
    metrics.upstreamLatency(upstreamMs / 1000);
    const timing = `discovery;dur=${millis(this.#discoveryMs)}, upstream;dur=${millis(upstreamMs)}`;
    if (response.status === 101 && response.native !== undefined) {
      metrics.upgrade('upgraded');
      metrics.request(this.#counted, 101);
      return upgradedOf(response, this.#requestId, timing, this.#shared.via);
    }
    if (response.status < 200 || response.status > 599) {
      discardResponse(response);
      metrics.upgrade('failed');
      return this.#noAnswer('bad-answer');
    }
    metrics.upgrade('declined');
    metrics.request(this.#counted, response.status);
    return answerOf(response, this.#requestId, timing, this.#shared.via, false);
  }

  /** `why`, or the client gone when it was the body that could not be read. */
  #noAnswer(why: NoAnswer, attempts = 0): Outcome {
    if (why === 'body-unread' && this.#request.client.gone) why = 'client-gone';
    return failureOf(this.#deps.metrics, this.#requestId, this.#service, this.#counted, why, attempts);
  }

  /** The gateway's own error; `counted` only where the service is known to have instances. */
  #fail(code: GatewayErrorCode, message: string, retryAfter?: number, counted?: string): Outcome {
    return fail(this.#deps.metrics, this.#requestId, code, message, this.#service || undefined, retryAfter, counted);
  }
}

const lookupFailure = (error: unknown): 'invalid' | 'unavailable' => (error instanceof RegistryError ? 'invalid' : 'unavailable');

/** Lets go of an answer nobody will pass on: its body, or an upgraded connection (a 101's `native` is `Cancellable`). */
function discardResponse(response: UpstreamResponse): void {
  discardBody(response.body);
  if (response.status === 101) (response.native as Cancellable | undefined)?.cancel('not relayed');
}
