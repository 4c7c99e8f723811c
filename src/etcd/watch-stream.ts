import { EtcdError } from './errors.js';
import { readLines } from './lines.js';
import { wireRange } from './range.js';
import type { Transport } from './transport.js';
import type { KeyRange, WatchBatch, WatchOptions } from './types.js';
import { decodeWatchLine } from './watch-wire.js';

/** Where a stream has got to, and what (if anything) to hand the caller. */
export interface Step {
  next: number;
  yield?: WatchBatch;
}

/**
 * etcd's `WithRequireLeader` over the gateway: a member that lost its leader
 * ends the stream with "no leader" instead of going silent.
 */
const REQUIRE_LEADER = { 'grpc-metadata-hasleader': 'true' };

/**
 * One `/v3/watch` stream from `start` (0: from its creation). It ends by
 * throwing: the caller decides whether to reconnect. A member whose stream
 * failed is set aside so that the reconnect goes to another one.
 *
 * The stream is asked for one revision earlier than `start` and the events
 * below `start` are dropped. etcd accepts a watch from a compaction's own
 * revision C but has already removed the delete that happened at C, so a
 * watch resumed at exactly C would miss that delete for good; asked from
 * C − 1, etcd answers "compacted" instead and the caller reads again.
 */
export async function* watchStream(
  transport: Transport,
  keys: KeyRange,
  options: WatchOptions,
  start: number,
  onCreated: (revision: number) => void,
): AsyncGenerator<Step> {
  const body = {
    create_request: {
      ...wireRange(keys),
      ...(start > 0 ? { start_revision: String(askFrom(start)) } : {}),
      ...(options.prevKv ? { prev_kv: true } : {}),
      ...(options.progressNotify || (options.idleTimeoutMs ?? 0) > 0 ? { progress_notify: true } : {}),
    },
  };
  // Aborted when this stream is done with, so the request ends on every runtime
  // (cancelling the body alone does not reach a mocked or proxied source).
  const local = new AbortController();
  const forward = (): void => local.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', forward, { once: true });
  let served: string | undefined;
  try {
    const open = await transport.stream('/v3/watch', body, local.signal, REQUIRE_LEADER);
    served = open.url;
    yield* readStream(open.response, open.token, transport, options, start, onCreated);
    throw new EtcdError('ETCD_UNAVAILABLE', 'etcd closed the watch stream', { retryable: true });
  } catch (error) {
    if (served !== undefined && !options.signal?.aborted && isMemberFailure(error)) transport.pool.markDown(served);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', forward);
    local.abort();
  }
}

async function* readStream(
  response: Response,
  token: string | undefined,
  transport: Transport,
  options: WatchOptions,
  start: number,
  onCreated: (revision: number) => void,
): AsyncGenerator<Step> {
  if (response.body === null) throw new EtcdError('ETCD_PROTOCOL', 'watch answered without a body', { retryable: true });
  let next = start;
  for await (const line of readLines(response.body, options.idleTimeoutMs)) {
    const message = decodeWatchLine(line);
    if (message.kind === 'canceled') {
      if (message.staleToken) await transport.refreshToken(token);
      throw message.error;
    }
    if (message.kind === 'created') {
      onCreated(message.revision);
      if (next === 0) next = message.revision + 1;
      yield { next };
    } else if (message.kind === 'events') {
      const events = message.events.filter((event) => event.kv.modRevision >= start);
      if (events.length === 0) continue;
      next = events[events.length - 1]!.kv.modRevision + 1;
      yield { next, yield: { revision: message.revision, events, progress: false } };
    } else if (next > 0) {
      next = Math.max(next, message.revision + 1);
      if (options.progressNotify) yield { next, yield: { revision: message.revision, events: [], progress: true } };
    }
  }
}

/** The revision to ask etcd for: one before `start`, where there is one. */
function askFrom(start: number): number {
  return start > 1 ? start - 1 : start;
}

/** A failure of the member (network, silence, "no leader"), not of the request. */
function isMemberFailure(error: unknown): boolean {
  if (!(error instanceof EtcdError)) return true;
  return error.retryable && error.code !== 'ETCD_UNAUTHENTICATED';
}
