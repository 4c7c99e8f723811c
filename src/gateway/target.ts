import { parseTags, type PickRequest } from '../balance/index.js';
import { isServiceName } from '../registry/index.js';
import { hashKeyOf } from './client-side.js';
import type { GatewayConfig } from './config.js';
import type { GatewayErrorCode } from './errors.js';
import { fieldValue } from './fields.js';
import { grpcTarget, grpcTimeoutMs, isGrpcContentType } from './grpc.js';
import { passesThrough } from './headers.js';
import type { Inbound } from './inbound.js';

export const SERVICE_PREFIX = '/svc/';

export type Target = { ok: true; service: string; path: string } | { ok: false; message: string };

/** `.` or `..` as a path segment, written plainly or percent-encoded. */
export const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;
/** Characters that some servers read as a separator once decoded, or never belong in a path (NUL, encoded or raw, and the other control characters). */
const SMUGGLED = /%2f|%5c|%00|[\\\x00-\x1f\x7f]/i;

/**
 * Splits a request path `/svc/{service}{rest}` (as received, still
 * percent-encoded) into the service and the path to send on. Refuses what
 * could make the path mean another service or host once someone decodes or
 * normalizes it: dot segments, encoded slashes and backslashes, NUL and
 * other control characters.
 */
export function parseTarget(rawPath: string): Target {
  if (!rawPath.startsWith(SERVICE_PREFIX)) return { ok: false, message: 'path must start with /svc/{service}' };
  const rest = rawPath.slice(SERVICE_PREFIX.length);
  const slash = rest.indexOf('/');
  const service = slash === -1 ? rest : rest.slice(0, slash);
  if (!isServiceName(service)) {
    return { ok: false, message: 'service name must be 1-128 characters of A-Z a-z 0-9 . _ - and not . or ..' };
  }
  const path = slash === -1 ? '/' : rest.slice(slash);
  if (DOT_SEGMENT.test(path) || SMUGGLED.test(path)) {
    return { ok: false, message: 'path must not contain dot segments, encoded slashes, backslashes or control characters' };
  }
  return { ok: true, service, path };
}

/** The path part of a request-target or URL, without the query. */
export function pathOf(target: string): string {
  let start = 0;
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    start = scheme === -1 ? 0 : target.indexOf('/', scheme + 3);
    if (start === -1) return '/';
  }
  const query = target.indexOf('?', start);
  const hash = target.indexOf('#', start);
  const end = Math.min(query === -1 ? target.length : query, hash === -1 ? target.length : hash);
  return target.slice(start, end);
}

/** A request's URL in the parts the proxy reads. */
export interface UrlParts {
  /** `http` or `https`. */
  proto: string;
  host: string;
  /** Still percent-encoded, dot segments as sent. */
  path: string;
  /** Empty or `?…`, as `URL.search` gives it. */
  query: string;
}

/**
 * Splits an absolute URL as a runtime serializes a request's (`Request.url`:
 * scheme, `//`, host, a path that starts with `/`) without building a `URL`,
 * which the proxy would do once per request.
 */
export function splitUrl(url: string): UrlParts {
  const scheme = url.indexOf('://');
  const hostStart = scheme === -1 ? 0 : scheme + 3;
  let pathStart = url.indexOf('/', hostStart);
  if (pathStart === -1) pathStart = url.length;
  let end = url.indexOf('#', pathStart);
  if (end === -1) end = url.length;
  let queryStart = url.indexOf('?', pathStart);
  if (queryStart === -1 || queryStart > end) queryStart = end;
  return {
    proto: scheme === -1 ? '' : url.slice(0, scheme),
    host: url.slice(hostStart, pathStart),
    path: pathStart === queryStart ? '/' : url.slice(pathStart, queryStart),
    query: end - queryStart > 1 ? url.slice(queryStart, end) : '',
  };
}

/** A `/svc/` request checked at the edge: where it goes, or why the gateway refuses it (`service` once known). */
export type Route =
  | { readonly ok: true; readonly service: string; readonly path: string; readonly pick: PickRequest; readonly grpc?: GrpcCall }
  | { readonly ok: false; readonly code: GatewayErrorCode; readonly message: string; readonly service: string | undefined; readonly retryAfter?: number };

/** A gRPC call's own terms (`Inbound.grpc`): its deadline from `grpc-timeout`, when it has one. */
export interface GrpcCall {
  readonly timeoutMs: number | undefined;
}

/** What the edge holds every request to besides the config; built once per proxy. */
export interface EdgeRules {
  exposed: (service: string) => boolean;
  /** This deployment's `Via` entry. */
  via: string;
  /** The pick of a request that brings no tags, zone or hash key of its own (most). */
  plainPick: PickRequest;
  /** The pick of a request that brings a zone and nothing else (every request where the edge has a zone). */
  zonePick: (zone: string) => PickRequest;
  /** Whether the runtime relays WebSockets (its upstream has `upgrade`); a handshake is refused with 501 otherwise. */
  upgrades: boolean;
  /** Whether the runtime forwards gRPC (it has an HTTP/2 upstream for it). */
  grpc: boolean;
}

/**
 * Checks a request before any lookup, in this order: the number of header
 * fields, gRPC's terms (only over a runtime that marked the call, `Inbound.grpc`;
 * a gRPC content type anywhere else is refused), the target, TRACE, a WebSocket handshake the runtime cannot relay,
 * loops through this deployment, a body declared
 * too large, the service's exposure, the request's tags. Then its pick: the
 * required tags narrowed by the request's, the zone and the hash key.
 */
export function routeOf(request: Inbound, config: GatewayConfig, rules: EdgeRules, clientIp: string | undefined): Route {
  const { fields } = request;
  const { limits } = config;
  // Refused, never truncated: the fields the gateway adds must reach the instance within its own limits.
  if (fields.length > limits.maxHeaders * 2) return refused('TOO_MANY_HEADERS', `a request may carry at most ${limits.maxHeaders} header fields`, undefined);
  let grpc: GrpcCall | undefined;
  if (request.grpc) {
    const timeoutMs = grpcTimeoutMs(fields);
    if (!rules.grpc) return refused('NOT_IMPLEMENTED', 'this gateway does not forward gRPC', undefined);
    if (Number.isNaN(timeoutMs)) return refused('BAD_REQUEST', 'grpc-timeout must be up to 8 digits and a unit (H, M, S, m, u or n)', undefined);
    grpc = { timeoutMs };
  } else if (isGrpcContentType(fieldValue(fields, 'content-type'))) {
    // gRPC's status comes in trailers, which HTTP/1.1 answers (and Workers' and Lambda's responses) cannot carry.
    return refused('BAD_REQUEST', 'gRPC needs HTTP/2 with trailers: call etcd-edge serve over h2c (prior knowledge) or TLS with ALPN h2', undefined);
  }
  const target = grpc !== undefined && !request.path.startsWith(SERVICE_PREFIX) ? grpcTarget(request.path, fields, config.grpcServices) : parseTarget(request.path);
  if (!target.ok) return refused('BAD_REQUEST', target.message, undefined);
  const { service } = target;
  if (request.method === 'TRACE' && !limits.allowTrace) return refused('METHOD_NOT_ALLOWED', 'TRACE is not forwarded', service);
  if (request.upgrade) {
    if (!rules.upgrades) return refused('NOT_IMPLEMENTED', 'this runtime does not relay WebSocket connections (on AWS Lambda, API Gateway WebSocket APIs do)', service);
    if (request.method !== 'GET') return refused('BAD_REQUEST', 'a WebSocket handshake is a GET request', service);
  }
  const via = fieldValue(fields, 'via');
  if (via !== undefined && passesThrough(via, rules.via) >= limits.maxHops) {
    return refused('LOOP_DETECTED', `the request has passed through this gateway ${limits.maxHops} times already`, service);
  }
  if (limits.maxBodyBytes !== undefined && request.hasBody && Number(fieldValue(fields, 'content-length')) > limits.maxBodyBytes) {
    return refused('PAYLOAD_TOO_LARGE', bodyTooLarge(limits.maxBodyBytes), service);
  }
  if (!rules.exposed(service)) return refused('NOT_FOUND', 'this gateway does not route to that service', service);
  const tagHeader = fieldValue(fields, 'x-edge-tags');
  const requestTags = tagHeader === undefined ? undefined : parseTags(tagHeader);
  if (requestTags === undefined && tagHeader !== undefined) return refused('BAD_REQUEST', 'x-edge-tags must be key=value pairs, comma-separated', service);
  // ETCD_EDGE_TAGS are required of every routed instance: a request may narrow them, never override them.
  const required = config.tags;
  if (requestTags && Object.keys(requestTags).some((key) => Object.hasOwn(required, key) && required[key] !== requestTags[key])) {
    return { ok: false, code: 'NO_INSTANCES', message: 'no instance of this service can take the request', service, retryAfter: 1 };
  }
  const zone = request.zone ?? config.zone;
  const hashKey = hashKeyOf(config.hashKey, fields, clientIp);
  const own = requestTags !== undefined || hashKey !== undefined;
  const pick = own ? pickRequest(required, requestTags, zone, hashKey) : zone === undefined ? rules.plainPick : rules.zonePick(zone);
  if (grpc !== undefined) return { ok: true, service, path: target.path + request.query, pick, grpc };
  return { ok: true, service, path: target.path + request.query, pick };
}

/** Why a body is refused (413): declared too large, or found so while it streamed. */
export function bodyTooLarge(maxBodyBytes: number | undefined): string {
  return `the request body may be at most ${maxBodyBytes} bytes`;
}

function refused(code: GatewayErrorCode, message: string, service: string | undefined): Route {
  return { ok: false, code, message, service };
}

/** `EdgeRules.zonePick`: one pick per zone, the last one kept (a gateway's zone rarely changes: a Worker isolate's colo, `EDGE_ZONE`). */
export function zonePicks(required: Readonly<Record<string, string>>): (zone: string) => PickRequest {
  let last: PickRequest | undefined;
  return (zone) => {
    if (last?.zone !== zone) last = Object.freeze({ tags: required, zone });
    return last;
  };
}

/** What selection needs of a request that brings tags, a zone or a hash key. */
function pickRequest(required: Readonly<Record<string, string>>, requestTags: Readonly<Record<string, string>> | undefined, zone: string | undefined, hashKey: string | undefined): PickRequest {
  const pick: PickRequest = { tags: requestTags ? { ...required, ...requestTags } : required };
  if (zone !== undefined) pick.zone = zone;
  if (hashKey !== undefined) pick.hashKey = hashKey;
  return pick;
}
