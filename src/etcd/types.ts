import type { Bytes } from './bytes.js';

/**
 * A key-value pair as etcd stores it. Revisions and versions are numbers:
 * etcd's are int64, but a store would need 2^53 writes to outgrow them, and the
 * decoder rejects any that did. Lease IDs are random 63-bit values and stay strings.
 */
export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease attached to the key, or `"0"` for none. */
  lease: string;
}

/** Which keys an operation applies to: one key, a prefix, or `[key, rangeEnd)`. */
export type KeyRange = Bytes | { key: Bytes; rangeEnd?: Bytes } | { prefix: Bytes };

export interface ResponseHeader {
  /** The store revision when the request was served. */
  revision: number;
  clusterId: string;
  memberId: string;
  raftTerm: number;
}

export interface RangeOptions {
  /** At most this many keys in one request; `more` says whether others exist. */
  limit?: number;
  /** Read everything in pages of this many keys, all at one revision. */
  pageSize?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Read the store as of this revision. */
  revision?: number;
  /** Serve from the member's local state without a quorum read. */
  serializable?: boolean;
  signal?: AbortSignal;
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** Keys in the range, regardless of `limit`. */
  count: number;
  more: boolean;
}

export interface PutOptions {
  lease?: string;
  prevKv?: boolean;
  ignoreLease?: boolean;
  ignoreValue?: boolean;
  signal?: AbortSignal;
}

export interface PutResult {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteOptions {
  prevKv?: boolean;
  signal?: AbortSignal;
}

export interface DeleteResult {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

/** Options every call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Per-attempt deadline (ms) for this call, instead of the client's `timeoutMs` or `writeTimeoutMs`. */
  timeoutMs?: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchOptions {
  /** First revision to deliver; default: changes after the watch is created. */
  startRevision?: number;
  prevKv?: boolean;
  /** Ask etcd for progress notifications; they are yielded as batches with `progress: true`. */
  progressNotify?: boolean;
  /** Ends the iteration (quietly) when aborted. */
  signal?: AbortSignal;
  /** Reconnect backoff: full delay doubles from `initialMs` up to `maxMs`, half of it jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Reopen a stream that sent nothing for this long (ms), on another member
   * when there is one; 0 (the default) waits forever. It turns on etcd's
   * progress notifications, which a quiet watch receives every 10 minutes by
   * default (`--experimental-watch-progress-notify-interval`): set it above
   * that interval, or a quiet watch reconnects needlessly.
   */
  idleTimeoutMs?: number;
  /** Told about each failure that leads to a reconnect. */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Told each time etcd confirms a stream (the first and every reconnect), with the store revision then. */
  onCreated?: (revision: number) => void;
}

export interface WatchBatch {
  /** Header revision of the message that carried the batch. */
  revision: number;
  events: WatchEvent[];
  /** A progress notification: every change up to `revision` has been delivered. */
  progress: boolean;
}
