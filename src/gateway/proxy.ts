import { parseTags, type Balancer, type PickRequest } from '../balance/index.js';
import type { Resolver, Snapshot } from '../discovery/index.js';
import { RegistryError } from '../registry/index.js';
import { OutgoingBody } from './body.js';
import { hashKeyOf } from './client-side.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import { errorParts, statusOf, type ErrorParts, type GatewayErrorCode } from './errors.js';
import { exposedServices } from './exposed-services.js';
import { fieldValue, type FieldList } from './fields.js';
import { forward, type ForwardDeps } from './forward.js';
import { downstreamResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { Inbound } from './inbound.js';
import { parseIp } from './ip.js';
import type { GatewayMetrics } from './metrics.js';
import type { RoutableCache } from './routable.js';
import { parseTarget } from './target.js';
import { discardBody, type Upstream, type UpstreamResponse } from './upstream.js';

export interface ProxyDeps {
  config: GatewayConfig;
  resolver: Resolver;
  routable: RoutableCache;
  balancer: Balancer;
  upstream: Upstream;
  metrics: GatewayMetrics;
  coldLookups: ColdLookupLimiter;
  now: () => number;
}

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

/** Handles one request to `/svc/{service}/…`: finds the service's instances, picks one, sends the request there. */
export type ProxyHandler = (request: Inbound) => Promise<Outcome>;

const NO_OPTIONS = Object.freeze({});

/** Statuses whose responses never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/** The proxy, with what every request shares built once. */
export function createProxy(deps: ProxyDeps): ProxyHandler {
  const exposed = exposedServices(deps.config.services);
  const forwarding: ForwardDeps = { balancer: deps.balancer, upstream: deps.upstream, retry: deps.config.retry, now: deps.now, onRetry: () => deps.metrics.retry() };
  const shared: Shared = { forwarding, exposed, plainPick: Object.freeze({ tags: deps.config.tags }) };
  return (request) => handle(deps, shared, request);
}

/** What every request of one proxy shares. */
interface Shared {
  forwarding: ForwardDeps;
  exposed: (service: string) => boolean;
  /** The pick of a request that brings no tags, zone or hash key of its own (most). */
  plainPick: PickRequest;
}

async function handle(deps: ProxyDeps, { forwarding, exposed, plainPick }: Shared, request: Inbound): Promise<Outcome> {
  const startedAt = deps.now();
  const { fields } = request;
  const requestId = requestIdOf(fields);
  const target = parseTarget(request.path);
  if (!target.ok) return fail(deps, requestId, 'BAD_REQUEST', target.message);
  const { service } = target;
  if (!exposed(service)) return fail(deps, requestId, 'NOT_FOUND', 'this gateway does not route to that service', service);
  const tagHeader = fieldValue(fields, 'x-edge-tags');
  const requestTags = tagHeader === undefined ? undefined : parseTags(tagHeader);
  if (requestTags === undefined && tagHeader !== undefined) return fail(deps, requestId, 'BAD_REQUEST', 'x-edge-tags must be key=value pairs, comma-separated', service);
  // ETCD_EDGE_TAGS are required of every routed instance: a request may narrow them, never override them.
  const { tags: required } = deps.config;
  if (requestTags && Object.keys(requestTags).some((key) => Object.hasOwn(required, key) && required[key] !== requestTags[key])) {
    return fail(deps, requestId, 'NO_INSTANCES', 'no instance of this service can take the request', service, 1);
  }

  const t0 = performance.now();
  const { ip } = request;
  const found = lookup(deps, request, service);
  // A snapshot that can be served now is used in this turn of the event loop: waiting would time other requests' work as discovery.
  const snapshot = found instanceof Promise ? await found : found;
  if (typeof snapshot === 'string') {
    if (snapshot === 'invalid') return fail(deps, requestId, 'BAD_REQUEST', 'this service name cannot be looked up', service);
    if (snapshot === 'deferred') return fail(deps, requestId, 'NO_INSTANCES', 'too many lookups of new service names; try again shortly', service, 1);
    return fail(deps, requestId, 'ETCD_UNAVAILABLE', 'the registry cannot be reached and nothing is cached for this service', service, 1);
  }
  const routable = deps.routable.of(snapshot.instances);
  const counted = routable.instances.length > 0 ? service : undefined;
  const zone = request.zone ?? deps.config.zone;
  const hashKey = hashKeyOf(deps.config.hashKey, fields, ip);
  const pick = requestTags === undefined && zone === undefined && hashKey === undefined ? plainPick : pickRequest(deps.config.tags, requestTags, zone, hashKey);
  // The first choice is part of discovery's time (lookup + selection); retries choose inside forward.
  const first = deps.balancer.pick(routable.instances, pick);
  const discoveryMs = performance.now() - t0;

  const headers = upstreamRequestHeaders(fields, { ip, proto: request.proto, host: request.host, requestId });
  let body: OutgoingBody;
  // Upstream time starts where discovery ended (the fields written in between count with it), or after a body read whole.
  let t1 = t0 + discoveryMs;
  try {
    const read = OutgoingBody.of(request, deps.config.retry.bufferBytes);
    if (read instanceof Promise) {
      body = await read;
      t1 = performance.now();
    } else {
      body = read;
    }
  } catch {
    if (request.client.gone) return clientGone(deps, counted);
    return fail(deps, requestId, 'BAD_REQUEST', 'the request body could not be read', service);
  }
  const result = await forward(forwarding, {
    instances: routable.instances,
    pick,
    first,
    method: request.method,
    path: target.path + request.query,
    headers,
    body,
    client: request.client,
    startedAt,
  });
  const upstreamMs = performance.now() - t1;
  if (!result.ok) {
    if (result.failure === 'client-gone') return clientGone(deps, counted);
    return failure(result.failure, result.attempts, (code, message, retryAfter) => fail(deps, requestId, code, message, service, retryAfter, counted));
  }
  const { response } = result;
  deps.metrics.upstreamLatency(upstreamMs / 1000);
  if (response.status < 200 || response.status > 599) {
    discardBody(response.body);
    return fail(deps, requestId, 'UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on', service, undefined, counted);
  }
  // Counted before it is sent: the runtime writes the answer after this returns.
  deps.metrics.request(service, response.status);
  const timing = `discovery;dur=${millis(discoveryMs)}, upstream;dur=${millis(upstreamMs)}`;
  const bodyless = request.method === 'HEAD' || NO_BODY.has(response.status);
  return { kind: 'answer', response, headers: downstreamResponseHeaders(response.headers, requestId, timing), bodyless };
}

/**
 * The gateway's own error answer, counted. `counted` is the service label for metrics: only a service
 * known to have instances, so made-up names cannot crowd the labels. (A function of its own, not a
 * closure in `handle`: one made per request kept `handle`'s variables off its fast path.)
 */
function fail(deps: ProxyDeps, requestId: string, code: GatewayErrorCode, message: string, service?: string, retryAfter?: number, counted?: string): Outcome {
  deps.metrics.request(counted, statusOf(code));
  return { kind: 'error', error: errorParts(code, message, { service, requestId, ...(retryAfter === undefined ? {} : { retryAfter }) }) };
}

/** Milliseconds with three decimals, as integers are formatted (`toFixed` showed in profiles). */
export function millis(ms: number): string {
  const us = Math.max(0, Math.round(ms * 1000));
  const fraction = us % 1000;
  return `${(us - fraction) / 1000}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}

/** What selection needs of a request that brings tags, a zone or a hash key. */
function pickRequest(required: Readonly<Record<string, string>>, requestTags: Readonly<Record<string, string>> | undefined, zone: string | undefined, hashKey: string | undefined): PickRequest {
  const pick: PickRequest = { tags: requestTags ? { ...required, ...requestTags } : required };
  if (zone !== undefined) pick.zone = zone;
  if (hashKey !== undefined) pick.hashKey = hashKey;
  return pick;
}

/** The client went away: nobody reads this answer; it is counted as nginx counts it (499). */
function clientGone(deps: ProxyDeps, service: string | undefined): Outcome {
  deps.metrics.request(service, 499);
  return { kind: 'gone' };
}

/** A client's bucket key: its address, or its /64 for IPv6, where one host can rotate through many. */
function clientKey(ip: string | undefined): string | undefined {
  if (ip === undefined || !ip.includes(':')) return ip;
  const bits = parseIp(ip);
  return bits === undefined ? ip : `${(bits >> 64n).toString(16)}::/64`;
}

type Lookup = Snapshot | 'invalid' | 'deferred' | 'unavailable';

function lookup(deps: ProxyDeps, request: Inbound, service: string): Lookup | Promise<Lookup> {
  // Names with nothing behind them (never seen, or empty) cost etcd reads: those are rationed per client.
  const held = deps.resolver.peek(service);
  const empty = !held || (held.instances.length === 0 && held.skipped.length === 0);
  if (empty && !deps.coldLookups.take(clientKey(request.ip))) return 'deferred';
  try {
    const found = deps.resolver.resolveNow(service, request.waitUntil ? { waitUntil: request.waitUntil } : NO_OPTIONS);
    return found instanceof Promise ? found.catch(lookupFailure) : found;
  } catch (error) {
    return lookupFailure(error);
  }
}

function lookupFailure(error: unknown): 'invalid' | 'unavailable' {
  return error instanceof RegistryError ? 'invalid' : 'unavailable';
}

function failure(kind: 'none-eligible' | 'unreachable' | 'timeout', attempts: number, fail: (code: 'NO_INSTANCES' | 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_TIMEOUT', message: string, retryAfter?: number) => Outcome): Outcome {
  switch (kind) {
    case 'none-eligible':
      return fail('NO_INSTANCES', 'no instance of this service can take the request', 1);
    case 'timeout':
      return fail('UPSTREAM_TIMEOUT', 'no instance answered in time');
    case 'unreachable':
      return fail('UPSTREAM_UNREACHABLE', attempts > 1 ? `no instance could be reached (${attempts} tried)` : 'the instance could not be reached');
  }
}
