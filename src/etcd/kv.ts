import { toBase64 } from './bytes.js';
import type { Transport } from './transport.js';
import { rangeBytes, wireRange } from './range.js';
import type {
  CallOptions,
  DeleteOptions,
  DeleteResult,
  KeyRange,
  KeyValue,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  ResponseHeader,
} from './types.js';
import type { Bytes } from './bytes.js';
import { deleteRangeResponse, headerResponse, putResponse, rangeResponse } from './wire.js';
import { leaseError } from './lease.js';

/** Builds the body of a range request (also used inside transactions). */
export function rangeRequest(range: KeyRange, options: RangeOptions = {}): Record<string, unknown> {
  return {
    ...wireRange(range),
    ...(options.limit === undefined ? {} : { limit: String(options.limit) }),
    ...(options.revision === undefined ? {} : { revision: String(options.revision) }),
    ...(options.keysOnly ? { keys_only: true } : {}),
    ...(options.countOnly ? { count_only: true } : {}),
    ...(options.serializable ? { serializable: true } : {}),
  };
}

export function putRequest(key: Bytes, value: Bytes, options: PutOptions = {}): Record<string, unknown> {
  return {
    key: toBase64(key),
    value: toBase64(value),
    ...(options.lease === undefined || options.lease === '0' ? {} : { lease: options.lease }),
    ...(options.prevKv ? { prev_kv: true } : {}),
    ...(options.ignoreLease ? { ignore_lease: true } : {}),
    ...(options.ignoreValue ? { ignore_value: true } : {}),
  };
}

export function deleteRequest(range: KeyRange, options: DeleteOptions = {}): Record<string, unknown> {
  return { ...wireRange(range), ...(options.prevKv ? { prev_kv: true } : {}) };
}

/** Reads keys. With `pageSize`, reads every key of the range in pages at one revision. */
export async function range(transport: Transport, keys: KeyRange, options: RangeOptions = {}): Promise<RangeResult> {
  if (options.pageSize === undefined || options.countOnly) return rangeOnce(transport, keys, options);
  return rangePages(transport, keys, options, options.pageSize);
}

async function rangeOnce(transport: Transport, keys: KeyRange, options: RangeOptions): Promise<RangeResult> {
  const r = await transport.call('/v3/kv/range', rangeRequest(keys, options), rangeResponse, { signal: options.signal });
  return { header: r.header, kvs: r.kvs, count: r.count, more: r.more };
}

async function rangePages(
  transport: Transport,
  keys: KeyRange,
  options: RangeOptions,
  pageSize: number,
): Promise<RangeResult> {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const { rangeEnd } = rangeBytes(keys);
  const first = await rangeOnce(transport, keys, { ...options, limit: pageSize });
  const kvs: KeyValue[] = [...first.kvs];
  let more = first.more;
  const revision = options.revision ?? first.header.revision;
  while (more && rangeEnd !== undefined && kvs.length > 0) {
    const last = kvs[kvs.length - 1]!.key;
    const next = new Uint8Array(last.length + 1);
    next.set(last);
    const page = await rangeOnce(transport, { key: next, rangeEnd }, { ...options, limit: pageSize, revision });
    kvs.push(...page.kvs);
    more = page.more && page.kvs.length > 0;
  }
  return { header: first.header, kvs, count: first.count, more: false };
}

export async function put(transport: Transport, key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
  try {
    const r = await transport.call('/v3/kv/put', putRequest(key, value, options), putResponse, { signal: options.signal, write: true });
    return r.prev_kv === undefined ? { header: r.header } : { header: r.header, prevKv: r.prev_kv };
  } catch (error) {
    throw options.lease === undefined ? error : leaseError(error, options.lease);
  }
}

export async function deleteRange(transport: Transport, keys: KeyRange, options: DeleteOptions = {}): Promise<DeleteResult> {
  const r = await transport.call('/v3/kv/deleterange', deleteRequest(keys, options), deleteRangeResponse, {
    signal: options.signal,
    write: true,
  });
  return { header: r.header, deleted: r.deleted, prevKvs: r.prev_kvs };
}

/** Discards history before `revision`; watches and reads from older revisions then fail. */
export async function compact(transport: Transport, revision: number, options: CallOptions & { physical?: boolean } = {}): Promise<{ header: ResponseHeader }> {
  const body = { revision: String(revision), ...(options.physical ? { physical: true } : {}) };
  const r = await transport.call('/v3/kv/compaction', body, headerResponse, { signal: options.signal, write: true });
  return { header: r.header };
}
