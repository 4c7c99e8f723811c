import { RelayError, type Snapshot } from '../../discovery/index.js';
import { EtcdError, type EtcdErrorCode } from '../../etcd/index.js';
import type { RelayErrorCode } from '../../discovery/index.js';

/**
 * What `serve --workers N` sends between the primary and its workers over
 * the cluster's IPC channel (JSON serialization). Every message carries
 * `etcdEdge: 1`, so Node's own cluster messages are never taken for ours.
 * A snapshot is plain data and crosses as it is; the receiver freezes it again.
 */
export type WorkerMessage =
  /** Cache mode: the service as the primary holds it, "unchanged" when it is still `held`. */
  | { etcdEdge: 1; kind: 'read'; id: number; service: string; held: number | undefined }
  /** Watch mode: the service now, and every later change pushed (`changed`) until `untrack`. */
  | { etcdEdge: 1; kind: 'track'; id: number; service: string }
  | { etcdEdge: 1; kind: 'untrack'; service: string }
  /** An admin request (`/_edge/…`) received on the worker's port, answered by the primary's gateway. */
  | { etcdEdge: 1; kind: 'admin'; id: number; method: string; url: string; headers: [string, string][]; body: string }
  /** The worker's metrics text, asked for by `metrics`. */
  | { etcdEdge: 1; kind: 'metrics'; id: number; text: string };

export type PrimaryMessage =
  | { etcdEdge: 1; kind: 'snapshot'; id: number; snapshot: Snapshot | undefined; brokenSince?: number | undefined }
  | { etcdEdge: 1; kind: 'failed'; id: number; error: WireError }
  | { etcdEdge: 1; kind: 'changed'; service: string; snapshot: Snapshot; brokenSince?: number | undefined }
  | { etcdEdge: 1; kind: 'admin'; id: number; status: number; headers: [string, string][]; body: string }
  | { etcdEdge: 1; kind: 'metrics'; id: number }
  /** Stop taking connections and drain: SIGTERM on the primary, or (`rolling`) a restart, where other workers take over. */
  | { etcdEdge: 1; kind: 'drain'; rolling: boolean };

/** An error as it crosses: enough to rebuild the typed error the gateway branches on (its `code`). */
export interface WireError {
  name: string;
  code: string | undefined;
  message: string;
  retryable: boolean;
}

type Tagged = { etcdEdge: 1; kind: string };

/** Whether a message on the channel is one of ours. */
export function isEdgeMessage(message: unknown): message is Tagged {
  return typeof message === 'object' && message !== null && (message as { etcdEdge?: unknown }).etcdEdge === 1;
}

export function toWire(error: unknown): WireError {
  const e: Error & { code?: unknown; retryable?: unknown } = error instanceof Error ? error : new Error(String(error));
  return { name: e instanceof RelayError ? 'RelayError' : e.name, code: typeof e.code === 'string' ? e.code : undefined, message: e.message, retryable: e.retryable === true };
}

/** The typed error again: etcd's and the relay's keep their code (the resolver serves stale-if-error on them). */
export function fromWire(wire: WireError): Error {
  if (wire.name === 'RelayError' && wire.code) return new RelayError(wire.code as RelayErrorCode, wire.message, { retryable: wire.retryable });
  if (wire.code?.startsWith('ETCD_')) return new EtcdError(wire.code as EtcdErrorCode, wire.message, { retryable: wire.retryable });
  return new Error(wire.message);
}

/** A snapshot that crossed the channel, frozen as every snapshot is. */
export function frozen(snapshot: Snapshot): Snapshot {
  return Object.freeze({ ...snapshot, instances: Object.freeze(snapshot.instances.map((i) => Object.freeze(i))), skipped: Object.freeze(snapshot.skipped) });
}
