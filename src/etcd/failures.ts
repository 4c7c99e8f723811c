import { EndpointFailure } from './endpoints.js';
import { EtcdProtocolError, EtcdRedirectError, type EtcdError } from './errors.js';
import { errorFromStatus } from './status.js';
import { decode, errorBody, streamError } from './wire.js';

/**
 * Error codes of a fetch that failed before the request could reach the
 * server: refused, unresolvable or unreachable, connect timeout, TLS refused.
 * Only these let a write move to another endpoint without risk of applying twice.
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** gRPC statuses that say the member, not the request, failed. */
const SERVER_SIDE = new Set([1, 2, 4, 10, 13, 14]);

/** True when a fetch error proves the request was never sent. */
export function neverSent(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NOT_SENT.has(code) || code.startsWith('ERR_SSL_'))) return true;
  }
  return false;
}

/** Parses a 2xx body; a body that is not JSON means the endpoint is not etcd's gateway. */
export function parseBody(text: string, status: number): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EndpointFailure(new EtcdProtocolError(`etcd answered with a body that is not JSON (HTTP ${status})`, { cause, status }));
  }
}

/**
 * An error reported inside a 200 answer of a stream endpoint (such as
 * `/v3/lease/keepalive`), or undefined when the body is not one.
 */
export function inStreamError(json: unknown, status?: number): EtcdError | EndpointFailure | undefined {
  const parsed = decode(streamError, json);
  if (!parsed.success) return undefined;
  const { grpc_code, code, message } = parsed.data.error;
  const grpcCode = grpc_code ?? code ?? 2;
  const error = errorFromStatus(grpcCode, message ?? 'stream error', status);
  return SERVER_SIDE.has(grpcCode) ? new EndpointFailure(error) : error;
}

/** A non-2xx answer: typed from etcd's error body; 5xx and non-etcd bodies are the endpoint's failure. */
export function failureFor(status: number, text: string): EtcdError | EndpointFailure {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = decode(errorBody, json);
  if (!parsed.success) {
    // A stream endpoint refused at open answers with its stream error shape
    // (e.g. 503 `{"error":{"grpc_code":14,"message":"etcdserver: no leader"}}`).
    const streamed = inStreamError(json, status);
    if (streamed) return status >= 500 && !(streamed instanceof EndpointFailure) ? new EndpointFailure(streamed) : streamed;
    return new EndpointFailure(new EtcdProtocolError(`etcd answered HTTP ${status} without an etcd error body`, { status }));
  }
  const error = errorFromStatus(parsed.data.code, parsed.data.message ?? parsed.data.error ?? '', status);
  return status >= 500 ? new EndpointFailure(error) : error;
}

/**
 * A redirect, as a failure of the endpoint, or undefined for any other answer:
 * a 3xx (Node's undici and workerd return it as is with `redirect: 'manual'`)
 * or the opaque redirect of a browser-like fetch (status 0, no headers). Its
 * body is dropped unread.
 */
export function redirectFailure(url: string, response: Response): EndpointFailure | undefined {
  if (response.type !== 'opaqueredirect' && (response.status < 300 || response.status > 399)) return undefined;
  response.body?.cancel().catch(() => undefined);
  const target = targetOrigin(response.headers.get('location'), url);
  return EndpointFailure.misconfigured(new EtcdRedirectError(new URL(url).origin, response.status, target));
}

/** Where a redirect points, as an origin: userinfo, path and query never appear in a message. */
function targetOrigin(location: string | null, base: string): string | undefined {
  if (location === null) return undefined;
  try {
    const target = new URL(location, base);
    return target.protocol === 'http:' || target.protocol === 'https:' ? target.origin : undefined;
  } catch {
    return undefined;
  }
}
