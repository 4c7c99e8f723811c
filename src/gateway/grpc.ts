import { isServiceName } from '../registry/index.js';
import type { GatewayErrorCode } from './errors.js';
import { fieldValue } from './fields.js';
import type { UpstreamResponse } from './upstream.js';

/**
 * gRPC through the gateway, as the core knows it: what marks a call, which
 * registry service a call goes to, its deadline, and the statuses the
 * gateway answers with itself. A runtime that can carry gRPC (HTTP/2 with
 * trailers: Node) marks the request `Inbound.grpc`; the proxy then routes it
 * here (target.ts) and forwards it with gRPC's retry rules (forward.ts).
 */

/** gRPC's status codes that the gateway answers with (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gateway's own errors as gRPC statuses: on HTTP 200 with `grpc-status` and `grpc-message`, never a JSON body. */
const STATUS_OF: Record<GatewayErrorCode, number> = {
  BAD_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  NO_INSTANCES: GrpcStatus.UNAVAILABLE,
  UPSTREAM_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  UPSTREAM_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  RESPONSE_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  ETCD_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  UNAUTHORIZED: GrpcStatus.UNAUTHENTICATED,
  METHOD_NOT_ALLOWED: GrpcStatus.UNIMPLEMENTED,
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  TOO_MANY_HEADERS: GrpcStatus.RESOURCE_EXHAUSTED,
  LOOP_DETECTED: GrpcStatus.FAILED_PRECONDITION,
  NOT_FOUND: GrpcStatus.UNIMPLEMENTED,
  RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  NOT_IMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  TOO_MANY_WEBSOCKETS: GrpcStatus.RESOURCE_EXHAUSTED,
  INTERNAL: GrpcStatus.INTERNAL,
};

export function grpcStatusOf(code: GatewayErrorCode): number {
  return STATUS_OF[code];
}

/** `application/grpc`, `application/grpc+proto`, `application/grpc;…`; not gRPC-Web (`application/grpc-web…`), which is plain HTTP. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  // end, '+' or ';'
  return Number.isNaN(next) || next === 0x2b || next === 0x3b;
}

/** A fully-qualified gRPC service (`pkg.Service`) and method, as `/{service}/{method}`. */
const CALL_PATH = /^\/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** Where a call goes: the registry service and the path sent on, or why it cannot go anywhere. */
export type GrpcTarget = { ok: true; service: string; path: string } | { ok: false; message: string };

/**
 * The registry service of a call to `/{pkg.Service}/{Method}`: the one named
 * by its `x-edge-service` field, else by `ETCD_EDGE_GRPC_SERVICES`, else the
 * one named `pkg.Service` itself (dots are allowed in service names). The
 * path goes to the instance as it came.
 */
export function grpcTarget(path: string, fields: readonly string[], services: Readonly<Record<string, string>>): GrpcTarget {
  const call = CALL_PATH.exec(path);
  if (!call) return { ok: false, message: 'a gRPC call goes to /{package.Service}/{Method} or /svc/{service}/{package.Service}/{Method}' };
  const named = fieldValue(fields, 'x-edge-service');
  const grpcService = call[1]!;
  const service = named ?? (Object.hasOwn(services, grpcService) ? services[grpcService]! : grpcService);
  if (!isServiceName(service)) return { ok: false, message: 'the registry service (x-edge-service, ETCD_EDGE_GRPC_SERVICES or the gRPC service) must be 1-128 characters of A-Z a-z 0-9 . _ -' };
  return { ok: true, service, path };
}

/** `grpc-timeout`: at most 8 digits and a unit (gRPC over HTTP/2, "Timeout"). */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** The call's own deadline in ms, undefined when it has none, NaN when the field is not one. */
export function grpcTimeoutMs(fields: readonly string[]): number | undefined {
  const value = fieldValue(fields, 'grpc-timeout');
  if (value === undefined) return undefined;
  const match = TIMEOUT.exec(value);
  return match ? Math.ceil(Number(match[1]) * UNIT_MS[match[2]!]!) : NaN;
}

/**
 * Whether an instance said UNAVAILABLE before any response: a trailers-only
 * answer (its trailers known with its headers, no body) with `grpc-status`
 * 14. That, and a connection never made, are the only times gRPC sends a
 * call again.
 */
export function grpcUnavailable(response: UpstreamResponse): boolean {
  const trailers = response.trailers?.fields;
  return trailers !== undefined && response.body === null && fieldValue(trailers, 'grpc-status') === String(GrpcStatus.UNAVAILABLE);
}

/** `grpc-message`: percent-encoded UTF-8 outside printable ASCII, and `%` itself. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
