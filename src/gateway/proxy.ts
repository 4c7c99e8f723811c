import type { Balancer, PickRequest } from '../balance/index.js';
import type { Resolver } from '../discovery/index.js';
import type { AccessLogSink } from './access-log.js';
import { TrustedProxies } from './client-address.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import { exposedServices } from './exposed-services.js';
import type { ForwardDeps } from './forward.js';
import { viaEntry } from './headers.js';
import type { Inbound } from './inbound.js';
import type { GatewayMetrics } from './metrics.js';
import type { Outcome, Responder } from './outcome.js';
import { ProxiedRequest } from './proxied-request.js';
import type { RoutableCache } from './routable.js';
import type { Upstream } from './upstream.js';

export { millis, type Outcome, type Responder } from './outcome.js';

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
}

/**
 * Handles one request to `/svc/{service}/…`: finds the service's instances,
 * picks one, sends the request there; the outcome goes to `responder`,
 * possibly before this returns. Throws only on a bug, before any outcome.
 */
export type ProxyHandler = (request: Inbound, responder: Responder) => void;

/** The proxy, with what every request shares built once. */
export function createProxy(deps: ProxyDeps): ProxyHandler {
  const exposed = exposedServices(deps.config.services);
  const forwarding: ForwardDeps = { balancer: deps.balancer, upstream: deps.upstream, retry: deps.config.retry, now: deps.now, onRetry: () => deps.metrics.retry() };
  const shared: Shared = {
    forwarding,
    exposed,
    plainPick: Object.freeze({ tags: deps.config.tags }),
    via: viaEntry(deps.config.deployment),
    trusted: new TrustedProxies(deps.config.trustedProxies),
  };
  return (request, responder) => new ProxiedRequest(deps, shared, request, responder).start();
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
export interface Shared {
  forwarding: ForwardDeps;
  exposed: (service: string) => boolean;
  /** The pick of a request that brings no tags, zone or hash key of its own (most). */
  plainPick: PickRequest;
  /** This deployment's `Via` entry. */
  via: string;
  trusted: TrustedProxies;
}
