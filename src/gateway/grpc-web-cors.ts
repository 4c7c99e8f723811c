import type { FieldList } from './fields.js';

/** What a gRPC-Web client library sends besides metadata of its own (Connect, grpc-web, improbable-eng), and what routes a call. */
const ALLOWED_HEADERS = 'content-type, x-grpc-web, x-user-agent, grpc-timeout, grpc-encoding, grpc-accept-encoding, authorization, x-edge-service, x-edge-tags, x-request-id';
/** gRPC's status, which a browser's script reads only when named here (CORS hides other response fields). */
const EXPOSED_HEADERS = 'grpc-status, grpc-message, grpc-status-details-bin, x-request-id';
/** How long a browser may keep a preflight's answer (Chromium caps it at 2 hours). */
const MAX_AGE_S = 7_200;

/**
 * CORS for gRPC-Web calls from browsers, per `ETCD_EDGE_CORS_ORIGINS`: the
 * gateway answers their preflights itself and marks their answers, since
 * the instance behind it speaks gRPC and knows nothing of browsers. Nothing
 * else gets CORS fields from the gateway (plain HTTP passes the instance's own).
 *
 * @example
 * const cors = new GrpcWebCors(['https://app.example.com']);
 * cors.preflightFields('https://app.example.com'); // allow-origin, -methods, -headers, max-age
 */
export class GrpcWebCors {
  readonly #origins: ReadonlySet<string>;
  readonly #any: boolean;

  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
    this.#any = this.#origins.has('*');
  }

  /** Whether any origin is allowed: with none, the gateway answers no preflight. */
  get on(): boolean {
    return this.#origins.size > 0;
  }

  /** `Access-Control-Allow-Origin` for a request's `Origin`; undefined when it has none or it is not allowed. */
  allowOrigin(origin: string | undefined): string | undefined {
    if (origin === undefined) return undefined;
    if (this.#any) return '*';
    return this.#origins.has(origin) ? origin : undefined;
  }

  /** The fields of an answer to a call from `origin`: none unless it is allowed. */
  answerFields(origin: string | undefined): FieldList {
    const allowed = this.allowOrigin(origin);
    if (allowed === undefined) return [];
    return ['access-control-allow-origin', allowed, 'access-control-expose-headers', EXPOSED_HEADERS, ...this.#vary()];
  }

  /** The fields of a preflight's 204: an origin not allowed gets none, which the browser takes as a refusal. */
  preflightFields(origin: string | undefined): FieldList {
    const allowed = this.allowOrigin(origin);
    if (allowed === undefined) return this.#vary();
    return ['access-control-allow-origin', allowed, 'access-control-allow-methods', 'POST', 'access-control-allow-headers', ALLOWED_HEADERS, 'access-control-max-age', String(MAX_AGE_S), ...this.#vary()];
  }

  /** Answers differ by `Origin` unless any is allowed: caches must keep them apart. */
  #vary(): FieldList {
    return this.#any ? [] : ['vary', 'origin'];
  }
}

/** Whether a request is a CORS preflight for a gRPC-Web call: OPTIONS asking to send `x-grpc-web`, which every gRPC-Web library sends. */
export function isGrpcWebPreflight(method: string | undefined, requestHeaders: string | undefined): boolean {
  return method === 'OPTIONS' && requestHeaders !== undefined && /(^|[\s,])x-grpc-web([\s,]|$)/i.test(requestHeaders);
}
