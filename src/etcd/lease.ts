import { EtcdError, EtcdLeaseNotFoundError } from './errors.js';
import { GRPC_NOT_FOUND } from './status.js';
import type { Transport } from './transport.js';
import type { CallOptions, ResponseHeader } from './types.js';
import {
  headerResponse,
  leaseGrantResponse,
  leaseKeepAliveResponse,
  leaseLeasesResponse,
  leaseTimeToLiveResponse,
} from './wire.js';

export interface LeaseGrant {
  header: ResponseHeader;
  /** The lease ID, a decimal string (IDs exceed 2^53). */
  id: string;
  ttl: number;
}

export interface LeaseKeepAlive {
  header: ResponseHeader;
  id: string;
  /** Seconds the lease now has left. */
  ttl: number;
}

export interface LeaseTimeToLive {
  header: ResponseHeader;
  id: string;
  /** Seconds left. */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

/** etcd reports a missing lease as gRPC NotFound; give it its own type. */
export function leaseError(error: unknown, leaseId: string): unknown {
  if (error instanceof EtcdError && error.grpcCode === GRPC_NOT_FOUND) {
    return new EtcdLeaseNotFoundError(leaseId, { cause: error, grpcCode: GRPC_NOT_FOUND });
  }
  return error;
}

export async function grant(transport: Transport, ttlSeconds: number, options: CallOptions & { id?: string } = {}): Promise<LeaseGrant> {
  const body = { TTL: String(ttlSeconds), ...(options.id === undefined ? {} : { ID: options.id }) };
  const r = await transport.call('/v3/lease/grant', body, leaseGrantResponse, { signal: options.signal, write: true, timeoutMs: options.timeoutMs });
  if (r.error) throw new EtcdError('ETCD_FAILED_PRECONDITION', `lease grant refused: ${r.error}`);
  return { header: r.header, id: r.ID, ttl: r.TTL };
}

/**
 * One keepalive beat.
 * @throws {EtcdLeaseNotFoundError} when the lease is gone (etcd answers without a TTL)
 */
export async function keepAlive(transport: Transport, id: string, options: CallOptions = {}): Promise<LeaseKeepAlive> {
  const r = await transport
    .call('/v3/lease/keepalive', { ID: id }, leaseKeepAliveResponse, { signal: options.signal, timeoutMs: options.timeoutMs })
    .catch((error: unknown) => {
      throw leaseError(error, id);
    });
  const ttl = r.result.TTL ?? 0;
  if (ttl <= 0) throw new EtcdLeaseNotFoundError(id);
  return { header: r.result.header, id, ttl };
}

export async function revoke(transport: Transport, id: string, options: CallOptions = {}): Promise<{ header: ResponseHeader }> {
  const r = await transport
    .call('/v3/lease/revoke', { ID: id }, headerResponse, { signal: options.signal, write: true, timeoutMs: options.timeoutMs })
    .catch((error: unknown) => {
      throw leaseError(error, id);
    });
  return { header: r.header };
}

/**
 * Time left on a lease.
 * @throws {EtcdLeaseNotFoundError} when the lease is gone (etcd answers TTL -1)
 */
export async function timeToLive(
  transport: Transport,
  id: string,
  options: CallOptions & { keys?: boolean } = {},
): Promise<LeaseTimeToLive> {
  const body = { ID: id, ...(options.keys ? { keys: true } : {}) };
  const r = await transport.call('/v3/lease/timetolive', body, leaseTimeToLiveResponse, { signal: options.signal });
  if (r.TTL < 0) throw new EtcdLeaseNotFoundError(id);
  return { header: r.header, id, ttl: r.TTL, grantedTtl: r.grantedTTL, keys: r.keys };
}

export async function leases(transport: Transport, options: CallOptions = {}): Promise<{ header: ResponseHeader; ids: string[] }> {
  const r = await transport.call('/v3/lease/leases', {}, leaseLeasesResponse, { signal: options.signal });
  return { header: r.header, ids: r.leases.map((lease) => lease.ID) };
}
