import { parseTags, type Balancer, type PickRequest } from '../balance/index.js';
import type { Resolver } from '../discovery/index.js';
import { RegistryError } from '../registry/index.js';
import { hashKeyOf } from './client-side.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import { exposedServices } from './exposed-services.js';
import { fieldValue } from './fields.js';
import type { ForwardDeps } from './forward.js';
import { requestIdOf } from './headers.js';
import type { Inbound } from './inbound.js';
import { parseIp } from './ip.js';
import type { GatewayMetrics } from './metrics.js';
import { fail, ProxiedRequest, type Lookup, type Outcome, type Responder } from './proxied-request.js';
import type { RoutableCache } from './routable.js';
import { parseTarget } from './target.js';
import type { Upstream } from './upstream.js';

export { millis, type Outcome, type Responder } from './proxied-request.js';

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
 * Handles one request to `/svc/{service}/…`: finds the service's instances,
 * picks one, sends the request there; the outcome goes to `responder`,
 * possibly before this returns. Throws only on a bug, before any outcome.
 */
export type ProxyHandler = (request: Inbound, responder: Responder) => void;

const NO_OPTIONS = Object.freeze({});

/** The proxy, with what every request shares built once. */
export function createProxy(deps: ProxyDeps): ProxyHandler {
  const exposed = exposedServices(deps.config.services);
  const forwarding: ForwardDeps = { balancer: deps.balancer, upstream: deps.upstream, retry: deps.config.retry, now: deps.now, onRetry: () => deps.metrics.retry() };
  const shared: Shared = { forwarding, exposed, plainPick: Object.freeze({ tags: deps.config.tags }) };
  return (request, responder) => handle(deps, shared, request, responder);
}

/**
 * The promise form of a `ProxyHandler`, for runtimes that answer with a promise (Hono's routes).
 *
 * @example
 * const outcome = await proxyOutcome(gateway.proxy, inbound);
 */
export function proxyOutcome(proxy: ProxyHandler, request: Inbound): Promise<Outcome> {
  return new Promise((resolve, reject) => proxy(request, { answer: resolve, broke: reject }));
}

/** What every request of one proxy shares. */
interface Shared {
  forwarding: ForwardDeps;
  exposed: (service: string) => boolean;
  /** The pick of a request that brings no tags, zone or hash key of its own (most). */
  plainPick: PickRequest;
}

/** Checks the request, then hands it to a `ProxiedRequest` with its service's snapshot: at once when one is held. */
function handle(deps: ProxyDeps, { forwarding, exposed, plainPick }: Shared, request: Inbound, responder: Responder): void {
  const startedAt = deps.now();
  const { fields } = request;
  const requestId = requestIdOf(fields);
  const target = parseTarget(request.path);
  if (!target.ok) return responder.answer(fail(deps.metrics, requestId, 'BAD_REQUEST', target.message));
  const { service } = target;
  if (!exposed(service)) return responder.answer(fail(deps.metrics, requestId, 'NOT_FOUND', 'this gateway does not route to that service', service));
  const tagHeader = fieldValue(fields, 'x-edge-tags');
  const requestTags = tagHeader === undefined ? undefined : parseTags(tagHeader);
  if (requestTags === undefined && tagHeader !== undefined) return responder.answer(fail(deps.metrics, requestId, 'BAD_REQUEST', 'x-edge-tags must be key=value pairs, comma-separated', service));
  // ETCD_EDGE_TAGS are required of every routed instance: a request may narrow them, never override them.
  const { tags: required } = deps.config;
  if (requestTags && Object.keys(requestTags).some((key) => Object.hasOwn(required, key) && required[key] !== requestTags[key])) {
    return responder.answer(fail(deps.metrics, requestId, 'NO_INSTANCES', 'no instance of this service can take the request', service, 1));
  }

  const t0 = performance.now();
  const zone = request.zone ?? deps.config.zone;
  const hashKey = hashKeyOf(deps.config.hashKey, fields, request.ip);
  const pick = requestTags === undefined && zone === undefined && hashKey === undefined ? plainPick : pickRequest(required, requestTags, zone, hashKey);
  const proxied = new ProxiedRequest(deps, forwarding, request, responder, { startedAt, t0, requestId, service, path: target.path, pick });
  const found = lookup(deps, request, service);
  // A snapshot that can be served now is used in this turn of the event loop: waiting would time other requests' work as discovery.
  if (!(found instanceof Promise)) return proxied.found(found);
  found.then(
    (snapshot) => {
      try {
        proxied.found(snapshot);
      } catch (error) {
        responder.broke(error);
      }
    },
    (error: unknown) => responder.broke(error),
  );
}

/** What selection needs of a request that brings tags, a zone or a hash key. */
function pickRequest(required: Readonly<Record<string, string>>, requestTags: Readonly<Record<string, string>> | undefined, zone: string | undefined, hashKey: string | undefined): PickRequest {
  const pick: PickRequest = { tags: requestTags ? { ...required, ...requestTags } : required };
  if (zone !== undefined) pick.zone = zone;
  if (hashKey !== undefined) pick.hashKey = hashKey;
  return pick;
}

/** A client's bucket key: its address, or its /64 for IPv6, where one host can rotate through many. */
function clientKey(ip: string | undefined): string | undefined {
  if (ip === undefined || !ip.includes(':')) return ip;
  const bits = parseIp(ip);
  return bits === undefined ? ip : `${(bits >> 64n).toString(16)}::/64`;
}

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
