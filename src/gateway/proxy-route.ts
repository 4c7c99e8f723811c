import type { Context } from 'hono';
import { parseTags, type Balancer } from '../balance/index.js';
import type { Resolver, Snapshot } from '../discovery/index.js';
import { RegistryError } from '../registry/index.js';
import { OutgoingBody } from './body.js';
import { clientIpOf, hashKeyOf, requestFieldsOf, type RuntimeHooks } from './client-side.js';
import { fieldValue, headersOf, type FieldList } from './fields.js';
import { parseIp } from './ip.js';
import type { ColdLookupLimiter } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import { errorResponse, statusOf } from './errors.js';
import { forward, type ForwardDeps } from './forward.js';
import { downstreamResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { GatewayMetrics } from './metrics.js';
import type { RoutableCache } from './routable.js';
import { parseTarget, pathOf } from './target.js';
import { discardBody, type Upstream, type UpstreamResponse } from './upstream.js';
import { exposedServices } from './exposed-services.js';

export interface ProxyDeps {
  config: GatewayConfig;
  resolver: Resolver;
  routable: RoutableCache;
  balancer: Balancer;
  upstream: Upstream;
  hooks: RuntimeHooks;
  metrics: GatewayMetrics;
  coldLookups: ColdLookupLimiter;
  now: () => number;
}

/** Statuses whose responses never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/** `ANY /svc/{service}/*`: finds the service's instances, picks one, streams the request there and the answer back. */
export function proxyRoute(deps: ProxyDeps): (c: Context) => Promise<Response> {
  // Built once: what every request's forwarding shares.
  const exposed = exposedServices(deps.config.services);
  const forwarding: ForwardDeps = { balancer: deps.balancer, upstream: deps.upstream, retry: deps.config.retry, now: deps.now, onRetry: () => deps.metrics.retry() };
  return (c) => handle(deps, forwarding, exposed, c);
}

async function handle(deps: ProxyDeps, forwarding: ForwardDeps, exposed: (service: string) => boolean, c: Context): Promise<Response> {
  const startedAt = deps.now();
  const request = c.req.raw;
  const fields = requestFieldsOf(deps.hooks, c);
  const requestId = requestIdOf(fields);
  /** `counted` is the service label for metrics: only a service known to have instances, so made-up names cannot crowd the labels. */
  const fail = (code: Parameters<typeof errorResponse>[0], message: string, service?: string, retryAfter?: number, counted?: string): Response => {
    deps.metrics.request(counted, statusOf(code));
    return errorResponse(code, message, { service, requestId, ...(retryAfter === undefined ? {} : { retryAfter }) });
  };
  const target = parseTarget(deps.hooks.rawPath?.(c) ?? pathOf(request.url));
  if (!target.ok) return fail('BAD_REQUEST', target.message);
  const { service } = target;
  if (!exposed(service)) return fail('NOT_FOUND', 'this gateway does not route to that service', service);
  const tagHeader = fieldValue(fields, 'x-edge-tags');
  const requestTags = tagHeader === undefined ? undefined : parseTags(tagHeader);
  if (requestTags === undefined && tagHeader !== undefined) return fail('BAD_REQUEST', 'x-edge-tags must be key=value pairs, comma-separated', service);
  // ETCD_EDGE_TAGS are required of every routed instance: a request may narrow them, never override them.
  const { tags: required } = deps.config;
  if (requestTags && Object.keys(requestTags).some((key) => Object.hasOwn(required, key) && required[key] !== requestTags[key])) {
    return fail('NO_INSTANCES', 'no instance of this service can take the request', service, 1);
  }

  const t0 = performance.now();
  const ip = clientIpOf(deps.hooks, c);
  const snapshot = await lookup(deps, c, service, ip);
  if (typeof snapshot === 'string') {
    if (snapshot === 'invalid') return fail('BAD_REQUEST', 'this service name cannot be looked up', service);
    if (snapshot === 'deferred') return fail('NO_INSTANCES', 'too many lookups of new service names; try again shortly', service, 1);
    return fail('ETCD_UNAVAILABLE', 'the registry cannot be reached and nothing is cached for this service', service, 1);
  }
  const routable = deps.routable.of(snapshot.instances);
  const zone = deps.hooks.zone?.(c) ?? deps.config.zone;
  const hashKey = hashKeyOf(deps.config.hashKey, fields, ip);
  const tags = requestTags ? { ...deps.config.tags, ...requestTags } : deps.config.tags;
  const pick = { tags, ...(zone === undefined ? {} : { zone }), ...(hashKey === undefined ? {} : { hashKey }) };
  // The first choice is part of discovery's time (lookup + selection); retries choose inside forward.
  const first = deps.balancer.pick(routable.instances, pick);
  const discoveryMs = performance.now() - t0;

  const url = new URL(request.url);
  const headers = upstreamRequestHeaders(fields, { ip, proto: url.protocol.slice(0, -1), host: url.host, requestId });
  const { requestBody } = deps.hooks;
  let body: OutgoingBody;
  try {
    body = await OutgoingBody.of(request, deps.config.retry.bufferBytes, requestBody && (() => requestBody(c)));
  } catch {
    if (request.signal.aborted) return clientGone(deps, routable.instances.length > 0 ? service : undefined);
    return fail('BAD_REQUEST', 'the request body could not be read', service);
  }
  const t1 = performance.now();
  const result = await forward(
    forwarding,
    {
      instances: routable.instances,
      pick,
      first,
      method: request.method,
      path: target.path + (deps.hooks.rawQuery?.(c) ?? url.search),
      headers,
      body,
      clientSignal: request.signal,
      startedAt,
    },
  );
  const upstreamMs = performance.now() - t1;
  if (!result.ok) {
    const counted = routable.instances.length > 0 ? service : undefined;
    if (result.failure === 'client-gone') return clientGone(deps, counted);
    return failure(result.failure, result.attempts, (code, message, s, retryAfter) => fail(code, message, s, retryAfter, counted), service);
  }
  deps.metrics.upstreamLatency(upstreamMs / 1000);
  const timing = `discovery;dur=${discoveryMs.toFixed(3)}, upstream;dur=${upstreamMs.toFixed(3)}`;
  const { status } = result.response;
  // Counted before it is sent: a runtime that writes the answer itself returns a placeholder.
  deps.metrics.request(service, status < 200 || status > 599 ? 502 : status);
  return respond(deps, c, result.response, request.method, downstreamResponseHeaders(result.response.headers, requestId, timing));
}

/** The client went away: nobody reads this answer; it is counted as nginx counts it (499). */
function clientGone(deps: ProxyDeps, service: string | undefined): Response {
  deps.metrics.request(service, 499);
  return new Response(null, { status: 499 });
}

/** A client's bucket key: its address, or its /64 for IPv6, where one host can rotate through many. */
function clientKey(ip: string | undefined): string | undefined {
  if (ip === undefined || !ip.includes(':')) return ip;
  const bits = parseIp(ip);
  return bits === undefined ? ip : `${(bits >> 64n).toString(16)}::/64`;
}

type Lookup = Snapshot | 'invalid' | 'deferred' | 'unavailable';

async function lookup(deps: ProxyDeps, c: Context, service: string, client: string | undefined): Promise<Lookup> {
  // Names with nothing behind them (never seen, or empty) cost etcd reads: those are rationed per client.
  const held = deps.resolver.status(service)?.snapshot;
  const empty = !held || (held.instances.length === 0 && held.skipped.length === 0);
  if (empty && !deps.coldLookups.take(clientKey(client))) return 'deferred';
  try {
    const waitUntil = deps.hooks.waitUntil?.(c);
    return await deps.resolver.resolve(service, waitUntil ? { waitUntil } : {});
  } catch (error) {
    return error instanceof RegistryError ? 'invalid' : 'unavailable';
  }
}

function failure(kind: 'none-eligible' | 'unreachable' | 'timeout', attempts: number, fail: (code: 'NO_INSTANCES' | 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_TIMEOUT', message: string, service?: string, retryAfter?: number) => Response, service: string): Response {
  switch (kind) {
    case 'none-eligible':
      return fail('NO_INSTANCES', 'no instance of this service can take the request', service, 1);
    case 'timeout':
      return fail('UPSTREAM_TIMEOUT', 'no instance answered in time', service);
    case 'unreachable':
      return fail('UPSTREAM_UNREACHABLE', attempts > 1 ? `no instance could be reached (${attempts} tried)` : 'the instance could not be reached', service);
  }
}

function respond(deps: ProxyDeps, c: Context, upstream: UpstreamResponse, method: string, headers: FieldList): Response {
  if (upstream.status < 200 || upstream.status > 599) {
    discardBody(upstream.body);
    return errorResponse('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on');
  }
  const bodyless = method === 'HEAD' || NO_BODY.has(upstream.status);
  const direct = deps.hooks.respond?.(c, upstream, headers, bodyless);
  if (direct) return direct;
  let init: ResponseInit;
  try {
    init = { status: upstream.status, headers: headersOf(headers) };
  } catch {
    discardBody(upstream.body);
    return errorResponse('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on');
  }
  if (bodyless) discardBody(upstream.body);
  return new Response(bodyless ? null : (upstream.body as BodyInit | null), init);
}
