/** The stable error codes a gateway response can carry. */
export type GatewayErrorCode =
  | 'BAD_REQUEST'
  | 'NO_INSTANCES'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'ETCD_UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'LOOP_DETECTED'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'NOT_IMPLEMENTED'
  | 'TOO_MANY_WEBSOCKETS'
  | 'INTERNAL';

const STATUS: Record<GatewayErrorCode, number> = {
  BAD_REQUEST: 400,
  NO_INSTANCES: 503,
  UPSTREAM_UNREACHABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  /** The instance's answer is more than the runtime can return (Lambda's buffered result). */
  RESPONSE_TOO_LARGE: 502,
  ETCD_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_HEADERS: 431,
  LOOP_DETECTED: 508,
  NOT_FOUND: 404,
  /** Too many requests from one client (the snapshot relay's limits). */
  RATE_LIMITED: 429,
  /** What this runtime cannot do: a WebSocket upgrade on Lambda. */
  NOT_IMPLEMENTED: 501,
  /** Upgraded connections at `ETCD_EDGE_WS_MAX_CONNECTIONS` already (Node). */
  TOO_MANY_WEBSOCKETS: 503,
  INTERNAL: 500,
};

export interface ErrorOptions {
  service?: string | undefined;
  /** Seconds, for `Retry-After`. */
  retryAfter?: number;
  requestId?: string | undefined;
  headers?: Record<string, string>;
}

/** An error answer before it becomes a runtime's response: status, header fields and JSON body. */
export interface ErrorParts {
  /** The stable code, for runtimes that answer in another protocol's terms (gRPC's statuses: grpc.ts). */
  code: GatewayErrorCode;
  /** The message, as the body carries it. */
  message: string;
  status: number;
  /** Flat name/value list (see `FieldList`). */
  fields: string[];
  body: string;
}

/**
 * `{"error":{"code","message","service"}}` with the code's status. Messages are
 * written here, never taken from an exception, so nothing internal leaks.
 */
export function errorParts(code: GatewayErrorCode, message: string, options: ErrorOptions = {}): ErrorParts {
  const body = JSON.stringify({ error: { code, message, ...(options.service === undefined ? {} : { service: options.service }) } });
  const fields = ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store'];
  // A 405 says what is allowed (RFC 9110 §15.5.6): everything the proxy forwards.
  if (code === 'METHOD_NOT_ALLOWED') fields.push('allow', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  if (options.headers) for (const [name, value] of Object.entries(options.headers)) fields.push(name, value);
  if (options.retryAfter !== undefined) fields.push('retry-after', String(options.retryAfter));
  if (options.requestId !== undefined) fields.push('x-request-id', options.requestId);
  return { code, message, status: STATUS[code], fields, body };
}

/** `errorParts` as a Web `Response`. */
export function errorResponse(code: GatewayErrorCode, message: string, options: ErrorOptions = {}): Response {
  return responseOfError(errorParts(code, message, options));
}

export function responseOfError({ status, fields, body }: ErrorParts): Response {
  const headers = new Headers();
  for (let i = 0; i < fields.length; i += 2) headers.set(fields[i]!, fields[i + 1]!);
  return new Response(body, { status, headers });
}

export function statusOf(code: GatewayErrorCode): number {
  return STATUS[code];
}
