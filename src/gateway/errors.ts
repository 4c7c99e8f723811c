/** The stable error codes a gateway response can carry. */
export type GatewayErrorCode =
  | 'BAD_REQUEST'
  | 'NO_INSTANCES'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'ETCD_UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'INTERNAL';

const STATUS: Record<GatewayErrorCode, number> = {
  BAD_REQUEST: 400,
  NO_INSTANCES: 503,
  UPSTREAM_UNREACHABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  ETCD_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INTERNAL: 500,
};

export interface ErrorOptions {
  service?: string | undefined;
  /** Seconds, for `Retry-After`. */
  retryAfter?: number;
  requestId?: string | undefined;
  headers?: Record<string, string>;
}

/**
 * `{"error":{"code","message","service"}}` with the code's status. Messages are
 * written here, never taken from an exception, so nothing internal leaks.
 */
export function errorResponse(code: GatewayErrorCode, message: string, options: ErrorOptions = {}): Response {
  const body = JSON.stringify({ error: { code, message, ...(options.service === undefined ? {} : { service: options.service }) } });
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...options.headers,
  };
  if (options.retryAfter !== undefined) headers['retry-after'] = String(options.retryAfter);
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
  return new Response(body, { status: STATUS[code], headers });
}

export function statusOf(code: GatewayErrorCode): number {
  return STATUS[code];
}
