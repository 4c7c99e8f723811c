import { EtcdCompactedError, EtcdError } from './errors.js';
import { sleep } from './sleep.js';
import { watchStream } from './watch-stream.js';
import type { Transport } from './transport.js';
import type { KeyRange } from './types.js';
import { decodeWatchLine, type WatchEvent } from './watch-wire.js';

export type { WatchEvent } from './watch-wire.js';

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

/**
 * Watches a key or range. Each stream resumes after the last revision
 * delivered (asking etcd from that revision itself, so that a compaction there
 * is noticed), so reconnects neither skip nor repeat changes; a quiet stream
 * only moves forward on a progress notification, which etcd sends once every
 * earlier change was delivered. Compaction of the next revision ends the
 * iteration with `EtcdCompactedError`: range again, then watch from there.
 *
 * Without `startRevision` the watch starts where etcd first creates it; if
 * that first attempt fails, the next one starts from its own creation, so
 * pass `startRevision` (the revision of a range + 1) when no change may be missed.
 */
export async function* watch(transport: Transport, keys: KeyRange, options: WatchOptions = {}): AsyncGenerator<WatchBatch> {
  const { signal } = options;
  let next = options.startRevision ?? 0;
  let failures = 0;
  while (!signal?.aborted) {
    try {
      for await (const batch of watchStream(transport, keys, options, next, (revision) => {
        failures = 0;
        options.onCreated?.(revision);
      })) {
        next = batch.next;
        if (batch.yield) yield batch.yield;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!isRetryable(error)) throw error;
      options.onRetry?.(error, failures + 1);
    }
    if (!(await sleep(backoffDelay(failures++, options.backoff), signal))) return;
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof EtcdCompactedError) return false;
  if (error instanceof EtcdError) return error.retryable;
  return true;
}

function backoffDelay(failures: number, backoff: WatchOptions['backoff'] = {}): number {
  const initial = backoff.initialMs ?? 100;
  const max = backoff.maxMs ?? 5_000;
  const full = Math.min(max, initial * 2 ** Math.min(failures, 20));
  return full / 2 + Math.random() * (full / 2);
}
