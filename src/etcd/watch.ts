import { EtcdCompactedError, EtcdError } from './errors.js';
import { readLines } from './lines.js';
import { wireRange } from './range.js';
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
  /** Reopen a stream that sent nothing for this long (ms); 0 keeps it open forever. */
  idleTimeoutMs?: number;
  /** Told about each failure that leads to a reconnect. */
  onRetry?: (error: unknown, attempt: number) => void;
}

export interface WatchBatch {
  /** Header revision of the message that carried the batch. */
  revision: number;
  events: WatchEvent[];
  /** A progress notification: every change up to `revision` has been delivered. */
  progress: boolean;
}

/**
 * Watches a key or range. Each stream resumes from the revision after the last
 * one delivered, so reconnects neither skip nor repeat changes; a quiet stream
 * only moves forward on a progress notification, which etcd sends once every
 * earlier change was delivered. Compaction of the next revision ends the
 * iteration with `EtcdCompactedError`: range again, then watch from there.
 */
export async function* watch(transport: Transport, keys: KeyRange, options: WatchOptions = {}): AsyncGenerator<WatchBatch> {
  const { signal } = options;
  let next = options.startRevision ?? 0;
  let failures = 0;
  while (!signal?.aborted) {
    try {
      for await (const batch of watchOnce(transport, keys, options, next, () => (failures = 0))) {
        next = batch.next;
        if (batch.yield) yield batch.yield;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!isRetryable(error)) throw error;
      options.onRetry?.(error, failures + 1);
    }
    if (!(await pause(backoffDelay(failures++, options.backoff), signal))) return;
  }
}

interface Step {
  next: number;
  yield?: WatchBatch;
}

async function* watchOnce(
  transport: Transport,
  keys: KeyRange,
  options: WatchOptions,
  start: number,
  onCreated: () => void,
): AsyncGenerator<Step> {
  const body = {
    create_request: {
      ...wireRange(keys),
      ...(start > 0 ? { start_revision: String(start) } : {}),
      ...(options.prevKv ? { prev_kv: true } : {}),
      ...(options.progressNotify ? { progress_notify: true } : {}),
    },
  };
  // Aborted when this stream is done with, so the request ends on every runtime
  // (cancelling the body alone does not reach a mocked or proxied source).
  const local = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, local.signal]) : local.signal;
  try {
    yield* readStream(transport, body, options, start, onCreated, signal);
  } finally {
    local.abort();
  }
}

async function* readStream(
  transport: Transport,
  body: unknown,
  options: WatchOptions,
  start: number,
  onCreated: () => void,
  signal: AbortSignal,
): AsyncGenerator<Step> {
  const { response, token } = await transport.stream('/v3/watch', body, signal);
  if (response.body === null) throw new EtcdError('ETCD_PROTOCOL', 'watch answered without a body', { retryable: true });
  let next = start;
  for await (const line of readLines(response.body, options.idleTimeoutMs)) {
    const message = decodeWatchLine(line);
    if (message.kind === 'canceled') {
      if (message.staleToken) await transport.refreshToken(token);
      throw message.error;
    }
    if (message.kind === 'created') {
      onCreated();
      if (next === 0) next = message.revision + 1;
      yield { next };
    } else if (message.kind === 'events') {
      next = message.events[message.events.length - 1]!.kv.modRevision + 1;
      yield { next, yield: { revision: message.revision, events: message.events, progress: false } };
    } else if (next > 0) {
      next = Math.max(next, message.revision + 1);
      if (options.progressNotify) yield { next, yield: { revision: message.revision, events: [], progress: true } };
    }
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

/** Waits `ms`; resolves false (at once) when the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
