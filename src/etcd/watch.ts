import { EtcdCompactedError, EtcdError } from './errors.js';
import { sleep } from './sleep.js';
import { watchStream } from './watch-stream.js';
import type { Transport } from './transport.js';
import type { KeyRange, WatchBatch, WatchOptions } from './types.js';

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
